// LTI helpers: client-side postMessage storage (login and launch), the deep-linking
// auto-submit and the dynamic-registration close message. Data arrives in data-* attributes
// because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  function storageFrame(target) {
    if (target === "_parent") { return window.parent; }
    try { return window.parent.frames[target] || window.parent; } catch (e) { return window.parent; }
  }

  function ask(el, message, onAnswer, onTimeout) {
    var target = storageFrame(el.dataset.target);
    var origin = el.dataset.origin;
    var id = "vc-" + Math.random().toString(36).slice(2);
    var done = false;
    function listener(event) {
      if (event.origin !== origin || !event.data || event.data.message_id !== id) { return; }
      done = true;
      window.removeEventListener("message", listener);
      onAnswer(event.data);
    }
    window.addEventListener("message", listener);
    message.message_id = id;
    target.postMessage(message, origin);
    window.setTimeout(function () { if (!done) { window.removeEventListener("message", listener); onTimeout(); } }, 3000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var login = document.getElementById("lti-storage-login");
    if (login) {
      var go = function () { window.location.href = login.dataset.next; };
      ask(login, {subject: "lti.put_data", key: "state_" + login.dataset.state, value: login.dataset.state}, go, go);
    }
    var launch = document.getElementById("lti-storage-launch");
    if (launch) {
      ask(launch, {subject: "lti.get_data", key: "state_" + launch.dataset.state}, function (answer) {
        if (answer.value === launch.dataset.state) {
          document.getElementById("lti-confirm").submit();
        } else {
          document.getElementById("lti-storage-failed").hidden = false;
        }
      }, function () { document.getElementById("lti-storage-failed").hidden = false; });
    }
    var autosubmit = document.querySelector("form[data-autosubmit]");
    if (autosubmit) { autosubmit.submit(); }
    var registered = document.getElementById("lti-registered");
    if (registered) {
      (window.opener || window.parent).postMessage({subject: "org.imsglobal.lti.close"}, "*");
    }
  });
})();
