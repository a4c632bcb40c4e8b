// Auto-submit: posts each form marked data-autosubmit as soon as the page
// has loaded. It is for pages whose only task is to hand an answer to
// another site by POST (the OpenID provider's form_post response, OAuth 2.0
// Form Post Response Mode). Without scripts the form's own button does the
// same. A file, not an inline script: the site's Content-Security-Policy
// (web/protect.go) allows scripts from this site only.
(function () {
  "use strict";
  function run() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-autosubmit]"), function (f) {
      // The prototype's submit: a field named "submit" cannot shadow it.
      HTMLFormElement.prototype.submit.call(f);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
