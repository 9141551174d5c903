/* Live node state: keeps /fleet (and the top of /nodes/{id}) current from the server-sent
 * events of /ui/fleet/stream. The page's element with `data-stream` holds the stream URL
 * and the words; every element with `data-live-row` and `data-node-id` is a node's row.
 *
 * Each `node` event carries one row already formatted by the server (in the user's
 * language): its state for the row's data attributes and a text per [data-field] cell.
 * Rows are updated in place (textContent only: nothing a node sends becomes markup).
 * `alerts` replaces the offline banner; `resync` (the server dropped changes for us)
 * reloads the page. EventSource reconnects by itself after errors and stream ends.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-stream]");
  if (!root || !window.EventSource) {
    return;
  }
  var serverNow = Date.parse(root.getAttribute("data-now"));
  var skew = isNaN(serverNow) ? 0 : serverNow - Date.now();

  function text(key, n) {
    return (root.getAttribute("data-" + key) || "").replace("{n}", String(n));
  }

  function relative(iso) {
    var then = Date.parse(iso);
    if (isNaN(then)) {
      return null;
    }
    var seconds = (Date.now() + skew - then) / 1000;
    if (seconds < 60) { return text("rel-now"); }
    if (seconds < 3600) { return text("rel-minutes", Math.floor(seconds / 60)); }
    if (seconds < 86400) { return text("rel-hours", Math.floor(seconds / 3600)); }
    return text("rel-days", Math.floor(seconds / 86400));
  }

  function applyFilter(row) {
    var wanted = root.getAttribute("data-status-filter");
    if (!wanted || row.tagName !== "TR") {
      row.hidden = false;
      return;
    }
    var online = row.getAttribute("data-online") === "true";
    row.hidden = (wanted === "online") !== online;
  }

  function updateCounts() {
    var rows = root.querySelectorAll("tr[data-node-id]");
    var online = root.querySelectorAll('tr[data-node-id][data-online="true"]').length;
    var counts = document.getElementById("fleet-counts");
    if (counts && counts.getAttribute("data-template")) {
      counts.textContent = counts.getAttribute("data-template")
        .replace("{online}", String(online)).replace("{total}", String(rows.length));
    }
  }

  function updateRow(data) {
    root.querySelectorAll('[data-live-row][data-node-id="' + CSS.escape(String(data.id)) + '"]').forEach(function (row) {
      updateOne(row, data);
    });
    updateCounts();
  }

  function updateOne(row, data) {
    row.setAttribute("data-online", data.online ? "true" : "false");
    row.setAttribute("data-status", data.status);
    row.setAttribute("data-last-seen", data.last_seen || "");
    var status = row.querySelector('[data-field="status"]');
    if (status) {
      status.className = "badge status status-" + data.status;
    }
    Object.keys(data.fields || {}).forEach(function (name) {
      var cell = row.querySelector('[data-field="' + name + '"]');
      if (cell) {
        cell.textContent = data.fields[name];
      }
    });
    row.classList.remove("changed");
    void row.offsetWidth; /* restart the highlight */
    row.classList.add("changed");
    applyFilter(row);
  }

  function updateAlerts(items) {
    var banner = document.getElementById("fleet-alerts");
    var list = document.getElementById("fleet-alert-list");
    if (!banner || !list) {
      return;
    }
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.setAttribute("data-node-id", item.node_id);
      var link = document.createElement("a");
      link.href = "/nodes/" + encodeURIComponent(item.node_id);
      link.textContent = item.node_name;
      var since = document.createElement("span");
      since.textContent = (root.getAttribute("data-alert-since") || "").replace("{since}", item.since);
      li.appendChild(link);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(since);
      list.appendChild(li);
    });
    banner.setAttribute("data-count", String(items.length));
    banner.hidden = items.length === 0;
  }

  function setLive(on) {
    var live = document.getElementById("fleet-live");
    if (live) {
      live.setAttribute("data-state", on ? "on" : "off");
      live.textContent = root.getAttribute(on ? "data-live-on" : "data-live-off");
    }
  }

  function parse(event) {
    try {
      return JSON.parse(event.data);
    } catch (e) {
      return null;
    }
  }

  var source = new EventSource(root.getAttribute("data-stream"));
  source.addEventListener("open", function () { setLive(true); });
  source.addEventListener("error", function () { setLive(false); });
  source.addEventListener("node", function (event) {
    var data = parse(event);
    if (data) { updateRow(data); }
  });
  source.addEventListener("alerts", function (event) {
    var data = parse(event);
    if (data) { updateAlerts(data); }
  });
  source.addEventListener("resync", function () {
    source.close();
    window.location.reload();
  });

  window.setInterval(function () {
    root.querySelectorAll("[data-live-row]").forEach(function (row) {
      var rel = relative(row.getAttribute("data-last-seen"));
      var cell = row.querySelector('[data-field="last_seen_rel"]');
      if (rel !== null && cell) {
        cell.textContent = rel;
      }
    });
  }, 30000);

  window.addEventListener("pagehide", function () { source.close(); });
})();
