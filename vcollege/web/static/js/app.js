// Progressive enhancements only: every page works without this file.
(function () {
  "use strict";
  // Inside an LMS iframe, use the compact layout.
  try {
    if (window.self !== window.top) {
      document.documentElement.classList.add("in-frame");
    }
  } catch (e) {
    document.documentElement.classList.add("in-frame");
  }
  // The language menu submits itself when changed; the button stays for keyboard and no-JS users.
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("language-select");
    if (select && select.form) {
      select.addEventListener("change", function () { select.form.submit(); });
    }
  });
})();
