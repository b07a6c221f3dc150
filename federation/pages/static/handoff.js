/* Optional progressive enhancement for the hand-off page: poll the journey and move on
   when the person has approved in the app. Without JavaScript the "Continue" button does
   the same. No inline code (CSP script-src 'self'). */
(function () {
  "use strict";
  var root = document.querySelector("[data-poll-url]");
  if (!root || !window.fetch || !window.URL) { return; }
  var pollUrl = root.getAttribute("data-poll-url");
  var status = document.querySelector("[data-waiting]");
  if (status) { status.hidden = false; }
  var delay = 2000;
  var deadline = Date.now() + 15 * 60 * 1000;

  function sameOrigin(next) {
    try { return new URL(next, window.location.href).origin === window.location.origin; }
    catch (e) { return false; }
  }

  function schedule() {
    if (Date.now() > deadline) { if (status) { status.hidden = true; } return; }
    delay = Math.min(Math.round(delay * 1.25), 10000);
    window.setTimeout(poll, delay);
  }

  function poll() {
    window.fetch(pollUrl, {
      credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (body) {
      if (body && body.status && body.status !== "pending" &&
          typeof body.next === "string" && sameOrigin(body.next)) {
        window.location.assign(body.next);
        return;
      }
      schedule();
    }).catch(schedule);
  }

  window.setTimeout(poll, delay);
}());
