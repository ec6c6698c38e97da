// The live host view without reloading the shared screen (desk/live.html): fetch the page again
// when it says and swap in its #live part.  Without this script the page reloads itself through
// the <meta http-equiv="refresh"> in <noscript>; a browser too old for fetch reloads the same way.
(function () {
  "use strict";
  var RETRY = 5;

  function current() { return document.getElementById("live"); }

  function later(seconds) {
    window.setTimeout(update, Math.max(1, seconds || RETRY) * 1000);
  }

  function update() {
    if (!window.fetch || !window.DOMParser) {
      window.location.reload();
      return;
    }
    window.fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) {
        return answer.text().then(function (text) { return { answer: answer, text: text }; });
      })
      .then(function (got) {
        var fresh = new DOMParser().parseFromString(got.text, "text/html").getElementById("live");
        if (!fresh) {
          // Logged out (the login page came back) or the activity is gone: show what the server says.
          if (got.answer.status !== 503) { window.location.reload(); return; }
          later(RETRY);
          return;
        }
        var shown = current();
        shown.parentNode.replaceChild(document.importNode(fresh, true), shown);
        later(Number(fresh.getAttribute("data-refresh")));
      })
      .catch(function () { later(RETRY); });  // offline for a moment: keep showing the code, try again
  }

  if (current()) later(Number(current().getAttribute("data-refresh")));
})();
