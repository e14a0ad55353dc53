// LTI helpers: client-side postMessage storage (login and launch), the deep-linking
// auto-submit and the dynamic-registration close message. Data arrives in data-* attributes
// because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  function storageFrame(target) {
    if (target === "_parent") { return window.parent; }
    try { return window.parent.frames[target] || window.parent; } catch (e) { return window.parent; }
  }

  // One request to the platform's storage (LTI client-side postMessage storage): posted to
  // the platform's frame with the platform's exact origin as targetOrigin, and only an
  // answer from that origin, to this request, is heard.
  function ask(el, message, onAnswer, onFailure) {
    var target = storageFrame(el.dataset.target);
    var origin = el.dataset.origin;
    var id = "vc-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
    var done = false;
    function finish() { done = true; window.removeEventListener("message", listener); }
    function listener(event) {
      if (done || event.origin !== origin || !event.data || event.data.message_id !== id) { return; }
      if (event.data.subject !== message.subject + ".response") { return; }
      finish();
      if (event.data.error) { onFailure(); } else { onAnswer(event.data); }
    }
    window.addEventListener("message", listener);
    message.message_id = id;
    if (target === window) { finish(); onFailure(); return; }  // not framed: no platform to ask
    try { target.postMessage(message, origin); } catch (e) { finish(); onFailure(); return; }
    window.setTimeout(function () { if (!done) { finish(); onFailure(); } }, 3000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var login = document.getElementById("lti-storage-login");
    if (login) {
      var go = function () { window.location.href = login.dataset.next; };
      ask(login, {subject: "lti.put_data", key: login.dataset.key, value: login.dataset.value}, go, go);
    }
    var launch = document.getElementById("lti-storage-launch");
    if (launch) {
      var failed = function () { document.getElementById("lti-storage-failed").hidden = false; };
      ask(launch, {subject: "lti.get_data", key: launch.dataset.key}, function (answer) {
        if ((answer.key === undefined || answer.key === launch.dataset.key) && typeof answer.value === "string" && answer.value) {
          document.getElementById("lti-storage-value").value = answer.value;
          document.getElementById("lti-confirm").submit();
        } else {
          failed();
        }
      }, failed);
    }
    var autosubmit = document.querySelector("form[data-autosubmit]");
    if (autosubmit) { autosubmit.submit(); }
    var registered = document.getElementById("lti-registered");
    if (registered) {
      (window.opener || window.parent).postMessage({subject: "org.imsglobal.lti.close"}, "*");
    }
  });
})();
