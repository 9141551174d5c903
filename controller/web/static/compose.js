/* The compose page (/compose): live character count and estimated duration, showing only
 * the parts of the form that apply, the targets tree (ticking a zone ticks what it covers),
 * "Nghe thử" (POST /ui/preview) and the recording upload (POST /ui/recordings, streamed by
 * the server, so the CSRF token goes in the X-CSRF-Token header).
 *
 * The form works without this file: every part is then shown and the server checks it all.
 * Text from the server is put on the page with textContent only, never as HTML.
 */
(function () {
  "use strict";

  var form = document.getElementById("compose-form");
  if (!form) { return; }

  function $(id) { return document.getElementById(id); }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k] !== undefined ? values[k] : ""; });
  }
  function msg(name) { return form.getAttribute("data-msg-" + name) || ""; }
  function checked(name) {
    var el = form.querySelector('input[name="' + name + '"]:checked');
    return el ? el.value : "";
  }
  function duration(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    return fill(msg("duration"), { minutes: Math.floor(seconds / 60), seconds: seconds % 60 });
  }

  // -- counter ------------------------------------------------------------------------
  var text = $("compose-text"), counter = $("compose-counter"), rate = $("compose-rate");
  function count() {
    var value = text.value.trim();
    if (!value) { counter.textContent = msg("counter-empty"); return; }
    var words = value.split(/\s+/).length;  // Vietnamese: one word per syllable, as the rate counts them
    var perMinute = parseInt(rate.value, 10) || 150;
    counter.textContent = fill(msg("counter"), { chars: value.length, duration: duration(words / perMinute * 60) });
    counter.classList.toggle("error", value.length > parseInt(form.getAttribute("data-max-chars"), 10));
  }
  text.addEventListener("input", count);
  rate.addEventListener("change", count);
  count();

  // -- show the parts that apply ----------------------------------------------------------
  function showParts() {
    var mode = checked("mode") || "text", when = checked("when") || "now";
    form.querySelectorAll("[data-mode]").forEach(function (el) { el.hidden = el.getAttribute("data-mode") !== mode; });
    form.querySelectorAll("[data-when]").forEach(function (el) { el.hidden = el.getAttribute("data-when") !== when; });
    $("part-repeat").hidden = when === "now";
    $("part-days").hidden = $("compose-rec-kind").value !== "weekly";
    $("emergency-box").hidden = checked("priority") !== "emergency";
  }
  form.addEventListener("change", function (event) {
    var name = event.target.name;
    if (name === "mode" || name === "when" || name === "priority" || name === "rec_kind") { showParts(); }
  });
  showParts();

  // -- targets tree: a zone covers everything under it --------------------------------------
  var tree = form.querySelector(".tree");
  if (tree) {
    tree.addEventListener("change", function (event) {
      var box = event.target;
      if (!box.hasAttribute("data-tree")) { return; }
      var item = box.closest("li");
      item.querySelectorAll("input[data-tree]").forEach(function (child) { child.checked = box.checked; });
      if (!box.checked) {  // an ancestor no longer covers everything: untick it
        var parent = item.parentElement.closest("li");
        while (parent) {
          var own = parent.querySelector("input[data-tree]");
          if (own) { own.checked = false; }
          parent = parent.parentElement.closest("li");
        }
      }
    });
  }

  // -- "Nghe thử" -------------------------------------------------------------------------
  var previewButton = $("preview-button");
  previewButton.hidden = false;
  previewButton.addEventListener("click", function () {
    var message = $("preview-message"), audio = $("preview-audio");
    var spokenBox = $("preview-spoken-box"), fallback = $("preview-fallback");
    spokenBox.hidden = true; fallback.hidden = true; audio.hidden = true;
    message.classList.remove("error");
    if (!text.value.trim()) {
      message.textContent = msg("text-empty"); message.classList.add("error"); text.focus(); return;
    }
    message.textContent = msg("previewing");
    previewButton.disabled = true;
    window.loa.fetchJSON("/ui/preview", {
      method: "POST",
      json: { text: text.value, voice: $("compose-voice").value, rate: rate.value, chime: $("compose-chime").checked }
    }).then(function (data) {
      message.textContent = fill(msg("preview-ready"), { duration: duration(data.duration_ms / 1000) });
      audio.src = data.audio_url;
      audio.hidden = false;
      $("preview-spoken").textContent = data.spoken_text;
      spokenBox.hidden = false;
      if (data.fallback_text) { fallback.textContent = data.fallback_text; fallback.hidden = false; }
    }).catch(function (err) {
      message.textContent = err.detail || msg("network");
      message.classList.add("error");
    }).then(function () { previewButton.disabled = false; });
  });

  // -- recording upload -----------------------------------------------------------------------
  var file = $("compose-file");
  file.addEventListener("change", function () {
    var message = $("upload-message"), audio = $("recording-audio");
    var sha = $("compose-recording-sha256"), ms = $("compose-recording-duration");
    if (!file.files || !file.files.length) { return; }
    sha.value = ""; ms.value = ""; audio.hidden = true;
    message.classList.remove("error");
    if (file.files[0].size > parseInt(form.getAttribute("data-max-bytes"), 10)) {
      // the server would stop reading at the limit, and a browser cut off mid-upload
      // reports a network error instead of the answer: say it before sending
      message.textContent = msg("too-large"); message.classList.add("error"); file.value = ""; return;
    }
    message.textContent = msg("uploading");
    var body = new FormData();
    body.append("chime", $("compose-chime").checked ? "true" : "false");
    body.append("file", file.files[0]);
    fetch("/ui/recordings", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": window.loa.csrfToken(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (!result.ok) { throw { detail: result.data && result.data.detail }; }
      sha.value = result.data.sha256;
      ms.value = result.data.duration_ms;
      audio.src = result.data.url;
      audio.hidden = false;
      message.textContent = fill(msg("uploaded"), { duration: duration(result.data.duration_ms / 1000) });
    }).catch(function (err) {
      message.textContent = (err && err.detail) || msg("network");
      message.classList.add("error");
      file.value = "";
    });
  });
})();
