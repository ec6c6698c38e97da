// Offline reading on the page; the service worker (kite/worker.js) does the keeping.
// main.html loads this after the page, where the page has one of these parts:
//   form[data-kite-offline-form="签到"]  a form that says so plainly when it cannot be sent;
//   [data-kite-offline=save]   保存离线阅读 on a lessons list (data-kite-group, -count, -pages);
//   [data-kite-offline=audio]  save an episode's audio (data-kite-audio);
//   [data-kite-offline=saved]  what the phone keeps (data-kite-visited, data-kite-empty).
// Plain ES5: the form part runs on old WeChat kernels too, which have no service worker.
(function () {
  "use strict";

  // --- Forms.  Offline, a submit goes nowhere: say so, and leave what was typed in place.
  // A form's own script calls kiteNotSent(form) when its request fails while offline.
  function notSent(form, unreachable) {
    var status = form.querySelector(".kite-form__status");
    var button = form.querySelector("button[type=submit]");
    var what = form.getAttribute("data-kite-offline-form") || "表单";
    var label = button ? button.textContent.replace(/^\s+|\s+$/g, "") : "提交";
    if (button) button.disabled = false;
    if (!status) return;
    status.className = "kite-form__status kite-form__status--error";
    status.textContent = unreachable ?
      "网络不通，" + what + "没有发出。填好的内容还在，等信号好了再点一次“" + label + "”。" :
      "没有网络，" + what + "没有发出。填好的内容还在，连上网络后再点一次“" + label + "”。";
  }
  window.kiteNotSent = notSent;

  // A form's own script calls kiteSendFailed(form) when its request got no answer at all.  On
  // patchy mobile data the phone shows signal bars (navigator.onLine stays true) while no data
  // flows; a plain post would then end on the browser's own error page, which never says whether
  // anything was recorded.  A GET that needs no CORS tells the two cases apart: it gets through
  // only where the line works and the browser refused the script's request itself (an old
  // kernel), and only there is the plain post worth making.
  window.kiteSendFailed = function (form) {
    if (navigator.onLine === false) return notSent(form);
    fetch(form.action, { method: "GET", mode: "no-cors", cache: "no-store", credentials: "omit" }).then(
      function () { form.submit(); },
      function () { notSent(form, true); }
    );
  };

  // Capturing on the document runs before the form's own listeners (checkin.js and the like).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (navigator.onLine !== false || !form.hasAttribute || !form.hasAttribute("data-kite-offline-form")) return;
    event.preventDefault();
    event.stopPropagation();
    notSent(form);
  }, true);

  var worker = navigator.serviceWorker;
  if (!worker || !window.MessageChannel || !window.Promise) return;

  // The worker that answers, once installed.  Not `serviceWorker.ready`: that never settles where
  // the worker cannot be installed (blocked by the browser, or its install failed on a dropped
  // line), and the page would say 正在查找… for ever.  main.html's registration is settled (the
  // registration, or nothing where registering failed); getRegistration() can run before it is.
  var registered = window.kiteRegistration || worker.getRegistration();

  function active() {
    return Promise.resolve(registered).then(function (registration) {
      return activeOf(registration || null);
    });
  }

  // While a new build's worker is installing or waiting, ask it once it is active (3 s at most),
  // not the old one: a message that reaches the old worker while Chromium stops it for the new
  // one starts it again, and the new one then waits until the old has been idle for 30 s.  A
  // waiting worker is nudged to ask for the swap again (kite/worker.js), in case that happened.
  var SWAP_WAIT = 3000;

  function activeOf(registration, waited) {
    var next = registration && (registration.installing || registration.waiting);
    nudge(registration);
    if (registration && registration.active && (!next || (waited || 0) >= SWAP_WAIT)) return registration.active;
    if (!registration || !next) {
      var error = new Error("no service worker");
      error.noWorker = true;
      throw error;
    }
    return new Promise(function (resolve) { setTimeout(resolve, 300); }).then(function () {
      return activeOf(registration, (waited || 0) + 300);
    });
  }

  var nudged = [];
  function nudge(registration) {
    var waiting = registration && registration.waiting;
    if (!waiting || nudged.indexOf(waiting) >= 0) return;
    nudged.push(waiting);
    waiting.postMessage({ type: "activate" });
  }

  // A new worker found while the page is open: if it is still waiting a moment after its
  // install, nudge it (its install asked for the swap; that request may have been lost).
  Promise.resolve(registered).then(function (registration) {
    if (!registration) return;
    nudge(registration);
    registration.addEventListener("updatefound", function () {
      var installing = registration.installing;
      if (!installing) return;
      installing.addEventListener("statechange", function () {
        if (installing.state === "installed") setTimeout(function () { nudge(registration); }, 1000);
      });
    });
  }).catch(function () {});

  // Without a worker nothing can be saved here: the save buttons go (as when registering fails).
  function noWorker() {
    var root = document.documentElement;
    root.className = root.className.replace(/(^|\s)kite-sw(\s|$)/, " ");
  }

  // --- Talking to the worker: one request, progress messages, then a result.
  function ask(message, onProgress) {
    return active().then(function (target) {
      return new Promise(function (resolve, reject) {
        var channel = new MessageChannel();
        channel.port1.onmessage = function (event) {
          var data = event.data || {};
          if (data.progress) {
            if (onProgress) onProgress(data.progress);
          } else if (data.error) {
            var error = new Error(data.error);
            error.full = !!data.full;
            reject(error);
          } else {
            resolve(data.result);
          }
        };
        target.postMessage(message, [channel.port2]);
      });
    });
  }

  function size(bytes) {
    if (bytes < 1024 * 1024) return "约 " + Math.max(1, Math.round(bytes / 1024)) + " KB";
    return "约 " + (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  function absolute(href, base) {
    return new URL(href, base || location.href).href;
  }

  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  // Saved lessons should survive the phone running short of space.
  function keepForGood() {
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});
  }

  function parts(box) {
    return {
      save: box.querySelector(".kite-offline__save"),
      remove: box.querySelector(".kite-offline__remove"),
      status: box.querySelector(".kite-offline__status"),
    };
  }

  var OFFLINE_NOW = "没有网络，现在存不了。连上网络后再点一次。";
  // A full phone is not a network problem: telling the member to find a network would mislead.
  var NO_WORKER = "这个浏览器现在存不了离线阅读，在线照常可以看。刷新页面后可以再试一次。";
  var FULL = "手机存储空间不够，存不下了。请删掉一些已保存的党课、音频或手机里用不着的文件，再点一次";

  // --- 保存离线阅读 on a lessons list.
  function lessonLinks(doc, base) {
    return Array.prototype.map.call(doc.querySelectorAll(".kite-cards .kite-card__title"), function (link) {
      return absolute(link.getAttribute("href"), base);
    });
  }

  // Every lesson of the list: this page's links, then those of its other pages (a long series).
  function listedLessons(box) {
    var found = lessonLinks(document, location.href);
    var pages = (box.getAttribute("data-kite-pages") || "").split(" ").filter(Boolean);
    return pages.reduce(function (chain, href) {
      var url = absolute(href);
      if (new URL(url).pathname === location.pathname) return chain;
      return chain.then(function () {
        return fetch(url, { credentials: "same-origin" }).then(function (response) {
          if (!response.ok) throw new Error(url + ": " + response.status);
          return response.text();
        }).then(function (html) {
          found = found.concat(lessonLinks(new DOMParser().parseFromString(html, "text/html"), url));
        });
      });
    }, Promise.resolve()).then(function () {
      return found.filter(function (url, index) { return found.indexOf(url) === index; });
    });
  }

  function setUpSave(box) {
    var group = box.getAttribute("data-kite-group");
    var count = Number(box.getAttribute("data-kite-count")) || 0;
    var ui = parts(box);

    var pressed = false;

    // `first`: the line shown when the page opens, unless the member has pressed a button since.
    function showSaved(first) {
      return ask({ type: "status", group: group }).then(function (result) {
        if (first && pressed) return; // what the press says is the news
        ui.remove.hidden = !result.saved;
        ui.status.textContent = result.saved ? "已保存 " + result.saved + (count ? "/" + count : "") + " 篇，" + size(result.bytes) : "";
      });
    }

    ui.save.addEventListener("click", function () {
      pressed = true;
      if (navigator.onLine === false) {
        ui.status.textContent = OFFLINE_NOW;
        return;
      }
      ui.save.disabled = true;
      keepForGood();
      ui.status.textContent = "正在查找要保存的党课……";
      listedLessons(box).then(function (urls) {
        // The list's first page: the one its lessons link to (a series' lessons to their series).
        var first = (box.getAttribute("data-kite-pages") || "").split(" ")[0];
        return ask({ type: "save", urls: urls, group: group, list: absolute(first || location.href) }, function (progress) {
          ui.status.textContent = "正在保存 " + progress.done + "/" + progress.total + " 篇，" + size(progress.bytes) + "……";
        });
      }).then(function (result) {
        ui.remove.hidden = !result.done;
        var missing = result.total - result.done;
        ui.status.textContent = "已保存 " + result.done + "/" + result.total + " 篇，" + size(result.bytes) +
          (result.full ? "。" + FULL + "“保存离线阅读”。" :
            missing ? "。有 " + missing + " 篇没有存上，请连上网络后再点一次“保存离线阅读”。" : "");
      }, function (error) {
        ui.status.textContent = error.noWorker ? NO_WORKER : error.full ? FULL + "“保存离线阅读”。" :
          "没有保存成功，请检查网络后再点一次“保存离线阅读”。";
      }).then(function () {
        ui.save.disabled = false;
      });
    });

    ui.remove.addEventListener("click", function () {
      pressed = true;
      ask({ type: "remove", group: group }).then(function () {
        ui.remove.hidden = true;
        ui.status.textContent = "已从手机上删除。";
      });
    });
    showSaved(true).catch(noWorker);
  }

  // --- An episode's audio, saved only when the member asks.
  function setUpAudio(box) {
    var audio = absolute(box.getAttribute("data-kite-audio"));
    var ui = parts(box);

    var pressed = false;

    function showSaved(first) {
      return ask({ type: "status", audio: audio }).then(function (result) {
        if (first && pressed) return; // what the press says is the news
        ui.save.hidden = !!result.saved;
        ui.remove.hidden = !result.saved;
        ui.status.textContent = result.saved ? "已保存在手机上（" + size(result.bytes) + "），没有网络也能播放。" : "";
      });
    }

    ui.save.addEventListener("click", function () {
      pressed = true;
      if (navigator.onLine === false) {
        ui.status.textContent = OFFLINE_NOW;
        return;
      }
      ui.save.disabled = true;
      keepForGood();
      ui.status.textContent = "正在保存……";
      ask({ type: "audio", url: audio, page: location.href }, function (progress) {
        ui.status.textContent = "正在保存 " + (progress.total ? Math.round(progress.bytes * 100 / progress.total) + "%" : size(progress.bytes)) + "……";
      }).then(function () {
        ui.save.disabled = false;
        return showSaved();
      }, function (error) {
        ui.save.disabled = false;
        ui.status.textContent = error.noWorker ? NO_WORKER : error.full ? FULL + "保存。" : "没有保存成功，请检查网络后再试一次。";
      });
    });

    ui.remove.addEventListener("click", function () {
      pressed = true;
      ask({ type: "remove", audio: audio }).then(function () {
        showSaved().then(function () { ui.status.textContent = "已从手机上删除。"; });
      });
    });
    showSaved(true).catch(noWorker);
  }

  // --- What the phone keeps: saved lessons by the list they came from, audio, recent pages.
  var AUDIO = "已保存的音频";
  var VISITED = "最近看过的页面（没有网络也能打开）";
  var SHOWN_VISITED = 20;

  function setUpSaved(section) {
    var holder = section.querySelector(".kite-saved__groups");
    var withVisited = section.hasAttribute("data-kite-visited");
    var empty = section.getAttribute("data-kite-empty");

    function render() {
      return ask({ type: "list" }).then(function (entries) {
        var groups = {};
        var order = [];
        entries.forEach(function (entry) {
          var name = entry.kind === "lesson" ? entry.group || "党课" : entry.kind === "audio" ? AUDIO :
            entry.kind === "" && withVisited ? VISITED : null;
          if (!name) return;
          if (!groups[name]) {
            groups[name] = [];
            order.push(name);
          }
          groups[name].push(entry);
        });
        // Saved lessons first (most recently saved first), then audio, then pages only opened.
        order.sort(function (a, b) { return rank(a) - rank(b); });
        holder.textContent = "";
        order.forEach(function (name) {
          holder.appendChild(groupOf(name, groups[name]));
        });
        if (!order.length && empty) holder.appendChild(element("p", empty));
        section.hidden = !order.length && !empty;
      });
    }

    function rank(name) {
      return name === VISITED ? 2 : name === AUDIO ? 1 : 0;
    }

    function groupOf(name, entries) {
      var box = element("div", "", "kite-saved__group");
      var bytes = 0;
      var list = element("ul", "", "kite-saved__list");
      entries.slice(0, name === VISITED ? SHOWN_VISITED : entries.length).forEach(function (entry) {
        var item = element("li");
        var link = element("a", entry.title);
        link.href = entry.url;
        item.appendChild(link);
        bytes += entry.bytes;
        if (name === AUDIO) {
          item.appendChild(document.createTextNode(" "));
          item.appendChild(removeButton("删除", { type: "remove", audio: entry.audio }));
        }
        list.appendChild(item);
      });
      box.appendChild(element("h3", name === VISITED ? name : name === AUDIO ? name + "（" + size(bytes) + "）" :
        name + "（" + entries.length + " 篇，" + size(bytes) + "）"));
      box.appendChild(list);
      if (name !== AUDIO && name !== VISITED) {
        var request = entries[0].group ? { type: "remove", group: entries[0].group } :
          { type: "remove", urls: entries.map(function (entry) { return entry.url; }) };
        box.appendChild(removeButton("删除这 " + entries.length + " 篇", request));
      }
      return box;
    }

    function removeButton(label, request) {
      var button = element("button", label, "kite-saved__remove");
      button.type = "button";
      button.addEventListener("click", function () {
        button.disabled = true;
        ask(request).then(render);
      });
      return button;
    }

    render().catch(noWorker);
  }

  function each(selector, setUp) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), setUp);
  }
  each("[data-kite-offline=save]", setUpSave);
  each("[data-kite-offline=audio]", setUpAudio);
  each("[data-kite-offline=saved]", setUpSaved);
})();
