// Posts the check-in form in place and shows the answer without leaving the page.
// Without this script (or without fetch) the form is a plain POST; if the request
// cannot be made here, the form falls back to that plain POST.
(function () {
  // The host's QR code opens the page with ?code=0427: fill in the live code (old browsers too).
  var fromLink = /[?&]code=([0-9]{4})(?:&|#|$)/.exec(window.location.search);
  if (fromLink) {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-kite-checkin] input[name=code]"), function (input) {
      if (!input.value) input.value = fromLink[1];
    });
  }
  if (!window.fetch || !window.URLSearchParams || !window.FormData) return;
  var forms = document.querySelectorAll("form[data-kite-checkin]");
  Array.prototype.forEach.call(forms, function (form) {
    var status = form.querySelector(".kite-form__status");
    var button = form.querySelector("button[type=submit]");
    function show(response, data) {
      button.disabled = false;
      if (response.ok && data) {
        status.className = "kite-form__status kite-form__status--ok";
        status.textContent = data.status === "duplicate" ? "已经签到过了，不用重复签到" : "签到成功";
        return;
      }
      status.className = "kite-form__status kite-form__status--error";
      if (!data) {
        // A proxy's error page instead of the endpoint's answer: the service is down or busy.
        status.textContent = "签到服务暂时连不上，请过几分钟再试；一直不行请联系支部书记补签";
        return;
      }
      status.textContent = data.error || "签到没有成功，请稍后再试";
      var field = data.field && form.elements[data.field];
      if (field && field.type !== "hidden") {
        field.setAttribute("aria-invalid", "true");
        field.focus();
      }
    }

    // An answer belongs to what was sent: once the member changes the form, or the browser refuses
    // it (its own "please fill in" bubble), an old 签到成功 or error beside it would mislead.
    function forget(event) {
      if (button.disabled) return; // a request is on its way; its answer replaces the message
      status.className = "kite-form__status";
      status.textContent = "";
      if (event.target && event.target.removeAttribute) event.target.removeAttribute("aria-invalid");
    }
    form.addEventListener("input", forget);
    form.addEventListener("change", forget);
    form.addEventListener("invalid", forget, true); // `invalid` does not bubble

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
        el.removeAttribute("aria-invalid");
      });
      status.className = "kite-form__status";
      status.textContent = "正在签到……";
      button.disabled = true;
      var body = new URLSearchParams();
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name) body.append(el.name, el.value);
      });
      fetch(form.action, {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString(),
        credentials: "omit",
      })
        .then(
          function (response) {
            return response.json().then(
              function (data) { show(response, data); },
              function () { show(response, null); }
            );
          },
          function () {
            button.disabled = false;
            // No answer at all: offline, a dead line, or an old browser refusing the request.
            // assets/offline.js says that nothing was sent, or posts plainly where that can work.
            if (window.kiteSendFailed) return window.kiteSendFailed(form);
            form.submit();
          }
        );
    });
  });
})();
