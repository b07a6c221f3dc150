// Operator console: optional improvements only; every screen works without this file.
// Served from /operator/static (CSP script-src 'self'; no inline script anywhere).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // "Copy" beside the TOTP secret on the enrolment page (hidden unless script runs).
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent.trim());
    });
  });
});
