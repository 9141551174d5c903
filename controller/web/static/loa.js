/* Loa web app helpers. Loaded with `defer` from /static (the CSP forbids inline script).
 *
 * - loa.csrfToken(): the session's CSRF token (from <meta name="csrf-token">).
 * - loa.fetchJSON(url, options): fetch for /ui/... endpoints; sends the X-CSRF-Token header
 *   and same-origin cookies, encodes `options.json` as the body, rejects with an Error whose
 *   `status` and `detail` come from the answer when it is not 2xx.
 * - <button data-confirm="Question?">: asks before submitting its form.
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function fetchJSON(url, options) {
    var opts = Object.assign({ method: "GET", credentials: "same-origin" }, options || {});
    var headers = new Headers(opts.headers || {});
    headers.set("Accept", "application/json");
    if (opts.method !== "GET" && opts.method !== "HEAD") {
      headers.set("X-CSRF-Token", csrfToken());
    }
    if (opts.json !== undefined) {
      headers.set("Content-Type", "application/json");
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    opts.headers = headers;
    return fetch(url, opts).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      var body = type.indexOf("application/json") === 0 ? response.json() : response.text();
      return body.then(function (data) {
        if (!response.ok) {
          var err = new Error((data && data.detail) || response.statusText);
          err.status = response.status;
          err.detail = data && data.detail;
          throw err;
        }
        return data;
      });
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  window.loa = { csrfToken: csrfToken, fetchJSON: fetchJSON };
})();
