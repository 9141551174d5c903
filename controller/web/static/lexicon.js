/* Lexicon page: "Nghe thử" reads a term through /ui/preview (the lexicon applied, as an
 * announcement would be read) and plays it in the entry's own <audio> element. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-preview-text]") : null;
    if (!button || !window.loa) {
      return;
    }
    var holder = button.parentNode;
    var audio = holder.querySelector("audio");
    var status = holder.querySelector(".preview-status");
    button.disabled = true;
    if (status) { status.textContent = "…"; }
    window.loa.fetchJSON("/ui/preview", { method: "POST", json: { text: button.getAttribute("data-preview-text") } })
      .then(function (answer) {
        if (status) { status.textContent = answer.spoken_text || ""; }
        if (audio && answer.audio_url) {
          audio.src = answer.audio_url;
          audio.hidden = false;
          audio.play().catch(function () { /* autoplay refused: the controls are there */ });
        }
      })
      .catch(function (err) {
        if (status) { status.textContent = err.detail || button.getAttribute("data-preview-error"); }
      })
      .then(function () { button.disabled = false; });
  });
})();
