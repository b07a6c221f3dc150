/* Form Post Response Mode: send the authorization response on at once. Without
   JavaScript the visible Continue button does the same. No inline code (CSP
   script-src 'self'). */
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosubmit]");
  if (form) { form.submit(); }
})();
