// The report and suggestion forms (report.html, suggest.html): how many characters remain, and
// posting in place with the answer shown beside the button.  Without this script (or without
// fetch) each form is a plain POST; if the request cannot be made here, it falls back to that.
// What was typed stays in the form whenever the endpoint refuses it or nothing was sent.
// Plain ES5: old WeChat kernels run it too.
(function () {
  "use strict";

  // Characters as the endpoint counts them (attendance/submissions.py clean_text): line breaks
  // as one, pasted invisible characters dropped, trimmed, each emoji one.
  function length(text) {
    text = text.replace(/\r\n?/g, "\n").replace(/[\u200b\u2060\ufeff\u00ad]/g, "").replace(/^\s+|\s+$/g, "");
    if (text.normalize) text = text.normalize("NFC");
    var pairs = text.match(/[\ud800-\udbff][\udc00-\udfff]/g);
    return text.length - (pairs ? pairs.length : 0);
  }

  function setUpCounter(area) {
    var limits = area.getAttribute("data-kite-count").split(" ");
    var fewest = Number(limits[0]), most = Number(limits[1]);
    var counter = document.getElementById(area.id + "-count");
    if (!counter) return;
    function update() {
      var used = length(area.value);
      var over = used > most;
      counter.className = "kite-form__count" + (over ? " kite-form__count--over" : "");
      counter.textContent = used < fewest ? "已写 " + used + " 字，至少要写 " + fewest + " 字" :
        over ? "已写 " + used + " 字，超出 " + (used - most) + " 字，请删减" :
        "已写 " + used + " 字，还可以写 " + (most - used) + " 字";
    }
    area.addEventListener("input", update);
    area.kiteRecount = update;
    update(); // the browser may have restored text (back button)
  }

  Array.prototype.forEach.call(document.querySelectorAll("textarea[data-kite-count]"), setUpCounter);

  if (!window.fetch || !window.URLSearchParams) return;

  Array.prototype.forEach.call(document.querySelectorAll("form[data-kite-submit]"), function (form) {
    var status = form.querySelector(".kite-form__status");
    var button = form.querySelector("button[type=submit]");
    var area = form.querySelector("textarea[data-kite-count]");

    function say(kind, text) {
      status.className = "kite-form__status" + (kind ? " kite-form__status--" + kind : "");
      status.textContent = text;
    }

    function mark(name) {
      var field = name && form.elements[name];
      if (!field) return;
      if (!field.tagName) field = field[0]; // a group of radio buttons
      if (!field || field.type === "hidden") return;
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }

    // The endpoint answers with the contract's fields only; the words are the confirmation pages'.
    function quarterLabel(quarter) {
      var found = /^(\d{4})Q([1-4])$/.exec(quarter);
      return found ? found[1] + "年第" + "一二三四".charAt(found[2] - 1) + "季度" : quarter;
    }

    function saying(data) {
      var again = data.status === "duplicate";
      if (data.quarter) {
        var quarter = quarterLabel(data.quarter);
        return again ? "这份汇报之前已经收到了（" + quarter + "），不用重复提交" : "汇报已收到，记入" + quarter;
      }
      if (data.ref) {
        return again ? "这条建议刚才已经收到了，不用重复提交。查询号：" + data.ref :
          "建议已收到。查询号：" + data.ref + "，请记下，以后凭它查看办理情况和答复";
      }
      return "已收到";
    }

    function recorded(data) {
      say("ok", saying(data));
      if (data.ref) {
        // The reference is what the member must keep: a link to its page, and in the lookup form.
        var link = document.createElement("a");
        link.href = form.action + "/" + encodeURIComponent(data.ref);
        link.textContent = "查看办理情况";
        status.appendChild(document.createTextNode(" "));
        status.appendChild(link);
        var lookup = document.getElementById("lookup-ref");
        if (lookup) lookup.value = data.ref;
      }
      if (data.status === "recorded" && area) {
        area.value = "";
        if (area.kiteRecount) area.kiteRecount();
      }
    }

    function answered(response, data) {
      button.disabled = false;
      if (response.ok && data && !data.error) return recorded(data);
      if (!data) {
        // A proxy's error page instead of the endpoint's answer: the service is down or busy.
        return say("error", "服务暂时连不上，没有提交成功。填好的内容还在，请过几分钟再试。");
      }
      say("error", data.error || "没有提交成功，请稍后再试");
      mark(data.field);
    }

    // An error belongs to what was sent: once the member changes the form, it goes.  A success
    // stays (a suggestion's reference must not vanish when the member starts another).
    function forget(event) {
      if (event.target && event.target.removeAttribute) event.target.removeAttribute("aria-invalid");
      if (!button.disabled && status.className.indexOf("--error") !== -1) say("", "");
    }
    form.addEventListener("input", forget);
    form.addEventListener("change", forget);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
        el.removeAttribute("aria-invalid");
      });
      say("", "正在提交……");
      button.disabled = true;
      var body = new URLSearchParams();
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || ((el.type === "radio" || el.type === "checkbox") && !el.checked)) return;
        body.append(el.name, el.value);
      });
      fetch(form.action, {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString(),
        credentials: "omit",
      }).then(
        function (response) {
          return response.json().then(
            function (data) { answered(response, data); },
            function () { answered(response, null); }
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
