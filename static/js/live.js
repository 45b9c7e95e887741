// Live screens (issue 8; PRODUCT 4.3): the page follows RentEngine's changes without a reload.
//
// One Server-Sent Events stream per page carries small notices, {scope: version}, for the scopes the
// page's [data-live] elements name. On a notice, the elements of that scope refresh themselves with an
// ordinary htmx GET (hx-trigger="live"), batched and never two at a time per element:
// - data-live-rows="<rows container>": a list. Only the rows on screen are re-rendered by the list's
//   view (?live=rows&ids=...); a row whose text changed is swapped in place with a highlight, and new
//   matching rows are announced by an "N new · show" pill instead of moving the list.
// - data-live-mode="notify": a list that can't be patched row by row; if its text changed, a pill
//   offers the new version ("Updated · show").
// - otherwise: swapped in place (with a highlight) when its text changed. A wrapper around a page's
//   content carries hx-disinherit="*", so the links inside it don't inherit its hx-select/hx-target.
// The dot in the top bar says live / reconnecting / offline, with the time the page last caught up.
// The page knows the versions it was rendered from (body[data-live-versions]); after a reconnect the
// stream's "hello" brings the current ones and only what moved is refetched. A server that can't hold
// a stream open (WSGI) answers 204: the page then polls /live/versions/ instead. Hidden tabs close
// their stream (or stop polling) and catch up when shown again.
(function () {
  "use strict";

  var body = document.body;
  var streamUrl = body.dataset.liveStream;
  if (!streamUrl || !window.htmx) return;
  var versionsUrl = body.dataset.liveVersionsUrl;
  var alertsUrl = body.dataset.liveAlertsUrl;
  var pollMs = parseInt(body.dataset.livePoll || "2000", 10);
  var known = parseJSON(body.dataset.liveVersions) || {};
  var alertScopes = words(body.dataset.liveAlerts);
  var indicator = document.getElementById("live-indicator");
  var BATCH_MS = 120; // notices arriving together make one refresh (PRODUCT 4.3: batch the refetches)
  var MAX_IDS = 300; // rows reported per list refresh (dashboard/live/rows.py reads as many)

  var source = null;
  var openScopes = "";
  var mode = "stream"; // "poll" once the server said it can't stream
  var failures = 0;
  var pollTimer = null;
  var retryTimer = null;

  function parseJSON(text) {
    try { return JSON.parse(text || "null"); } catch (e) { return null; }
  }

  function words(text) {
    return (text || "").split(/\s+/).filter(Boolean);
  }

  function pageScopes() {
    var all = alertScopes.slice();
    document.querySelectorAll("[data-live]").forEach(function (el) {
      words(el.getAttribute("data-live")).forEach(function (scope) {
        if (all.indexOf(scope) < 0) all.push(scope);
      });
    });
    return all.sort();
  }

  function scopeQuery(scopes) {
    return scopes.map(function (s) { return "s=" + encodeURIComponent(s); }).join("&");
  }

  // --- the dot and "updated hh:mm" -------------------------------------------------------------

  var LABELS = { connecting: "Connecting", live: "Live", polling: "Checking", reconnecting: "Reconnecting", offline: "Offline", paused: "Paused" };

  function setState(next, title) {
    if (!indicator) return;
    indicator.dataset.state = next;
    indicator.dataset.mode = mode;
    indicator.title = title || (next === "live" && mode === "poll"
      ? "Live: checking for changes every " + Math.round(pollMs / 1000) + " s"
      : "Live updates: " + LABELS[next].toLowerCase());
    var label = indicator.querySelector(".live-label");
    if (label) label.textContent = LABELS[next];
  }

  // "12:42 PM" in the account's zone (the page's times are in it too), "12:42 PM CST" when the
  // person's accounts are in different zones; the browser's own zone only if the name is unknown.
  function clockTime(when) {
    var options = { hour: "numeric", minute: "2-digit", hour12: true };
    if (document.body.dataset.timeZone) options.timeZone = document.body.dataset.timeZone;
    if (document.body.dataset.zoneLabel) options.timeZoneName = "short";
    var text;
    try {
      text = new Intl.DateTimeFormat("en-US", options).format(when);
    } catch (e) {
      delete options.timeZone;
      text = new Intl.DateTimeFormat("en-US", options).format(when);
    }
    return text.replace(/[\u202f\u00a0]/g, " ");
  }

  function caughtUp() {
    if (!indicator) return;
    var stamp = indicator.querySelector(".live-updated");
    if (!stamp) return;
    var now = new Date();
    stamp.textContent = "updated " + clockTime(now);
    stamp.setAttribute("datetime", now.toISOString());
  }

  // --- versions in, refreshes out --------------------------------------------------------------

  function apply(versions) {
    var moved = [];
    Object.keys(versions || {}).forEach(function (scope) {
      if (known[scope] !== versions[scope]) {
        known[scope] = versions[scope];
        moved.push(scope);
      }
    });
    if (moved.length) refresh(moved);
    caughtUp();
  }

  var pending = new Set();
  var batchTimer = null;

  function refresh(scopes) {
    document.querySelectorAll("[data-live]").forEach(function (el) {
      if (words(el.getAttribute("data-live")).some(function (s) { return scopes.indexOf(s) >= 0; })) pending.add(el);
    });
    if (scopes.some(function (s) { return alertScopes.indexOf(s) >= 0; })) pending.add("alerts");
    if (!batchTimer) batchTimer = setTimeout(flush, BATCH_MS);
  }

  function flush() {
    batchTimer = null;
    var items = Array.from(pending);
    pending.clear();
    items.forEach(function (el) {
      if (el === "alerts") { alertsCheck(false); return; }
      if (!document.body.contains(el)) return;
      if (el._liveBusy) { el._liveAgain = true; return; } // once the request in flight is back
      htmx.trigger(el, "live");
    });
  }

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var el = event.detail.elt;
    if (el && el.hasAttribute && el.hasAttribute("data-live")) el._liveBusy = true;
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    var el = event.detail.elt;
    if (!el || !el.hasAttribute || !el.hasAttribute("data-live")) return;
    el._liveBusy = false;
    if (event.detail.successful) {
      el._liveFailures = 0;
      if (el.hasAttribute("data-live-rows")) rowsPatch(el, event.detail.xhr.responseText);
    } else if ((el._liveFailures = (el._liveFailures || 0) + 1) <= 3) {
      // The page keeps what it shows, and asks again a little later (PRODUCT 4.3).
      setTimeout(function () { pending.add(el); if (!batchTimer) batchTimer = setTimeout(flush, BATCH_MS); }, 2000 * el._liveFailures);
    }
    if (el._liveAgain) {
      el._liveAgain = false;
      pending.add(el);
      if (!batchTimer) batchTimer = setTimeout(flush, BATCH_MS);
    }
  });

  // --- lists: patch the rows on screen, count the new ones -------------------------------------

  function rowsOnScreen(el) {
    var container = document.querySelector(el.getAttribute("data-live-rows"));
    return {
      container: container,
      rows: container ? Array.prototype.filter.call(container.children, function (r) { return r.dataset && r.dataset.id; }) : [],
    };
  }

  document.body.addEventListener("htmx:configRequest", function (event) {
    var el = event.detail.elt;
    if (!el || !el.hasAttribute || !el.hasAttribute("data-live-rows")) return;
    var screen = rowsOnScreen(el);
    var ids = screen.rows.slice(0, MAX_IDS).map(function (r) { return r.dataset.id; });
    var more = screen.rows.length > MAX_IDS || !!(screen.container && screen.container.querySelector("#more-rows"));
    event.detail.parameters.live = "rows";
    event.detail.parameters.ids = ids.join(",");
    event.detail.parameters.more = more ? "1" : "0";
    event.detail.parameters.count_new = el.getAttribute("data-live-count-new") || "1";
  });

  function flat(node) {
    return node ? node.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function rowsPatch(el, html) {
    // An answer for a list the person has meanwhile left (another filter swapped the results in)
    // says nothing about the list on screen now.
    if (!document.body.contains(el)) return;
    var answer = document.createElement("template");
    answer.innerHTML = html;
    answer.content.querySelectorAll("#live-rows > [id]").forEach(function (fresh) {
      var current = document.getElementById(fresh.id);
      if (!current || flat(current) === flat(fresh)) return;
      fresh.classList.add("live-flash");
      if (current.classList.contains("cursor")) fresh.classList.add("cursor");
      htmx.swap(current, fresh.outerHTML, { swapStyle: "outerHTML", swapDelay: 0, settleDelay: 20 });
    });
    var pill = answer.content.getElementById("live-new");
    var slot = document.querySelector(el.getAttribute("data-live-notices"));
    if (pill && slot && slot.innerHTML.trim() !== pill.innerHTML.trim()) {
      slot.innerHTML = pill.innerHTML;
      htmx.process(slot);
    }
  }

  // --- fragments: swap when the text changed, or offer the change with a pill -----------------

  function compared(root, selector) {
    if (!root) return "";
    if (!selector) return flat(root);
    return Array.prototype.map.call(root.querySelectorAll(selector), flat).join(" | ");
  }

  function answerPart(html, el) {
    var answer = document.createElement("template");
    answer.innerHTML = html;
    var select = el.getAttribute("hx-select");
    return select ? answer.content.querySelector(select) : answer.content;
  }

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var el = event.detail.elt;
    if (!el || !el.hasAttribute || !el.hasAttribute("data-live") || el.hasAttribute("data-live-rows")) return;
    if (event.detail.xhr.status !== 200 || !event.detail.shouldSwap) return;
    var target = event.detail.target;
    if (!document.body.contains(el) || !document.body.contains(target)) { // left meanwhile: not about this page
      event.detail.shouldSwap = false;
      return;
    }
    if (el._liveShow) { // the person asked for it: swap whatever it is
      el._liveShow = false;
      noticeClear(el);
      return;
    }
    var part = answerPart(event.detail.serverResponse, el);
    if (!part) { // the answer lacks the part this element shows (a page opened part-way, say): keep it
      event.detail.shouldSwap = false;
      return;
    }
    var selector = el.getAttribute("data-live-compare");
    var fresh = compared(part, selector);
    var current = compared(target, selector);
    if (fresh === current) {
      event.detail.shouldSwap = false;
      return;
    }
    if (el.getAttribute("data-live-mode") === "notify") {
      event.detail.shouldSwap = false;
      noticeShow(el);
      return;
    }
    if (!el.hasAttribute("data-live-quiet") && target.id) flashNext.add(target.id);
  });

  var flashNext = new Set();
  document.body.addEventListener("htmx:afterSettle", function () {
    flashNext.forEach(function (id) {
      var el = document.getElementById(id);
      if (el) {
        el.classList.remove("live-flash");
        void el.offsetWidth; // restart the animation on an element that flashed before
        el.classList.add("live-flash");
      }
    });
    flashNext.clear();
    // A swap may bring scopes the stream doesn't carry yet (another account's object, say).
    if (mode === "stream" && source && pageScopes().join(" ") !== openScopes) connect();
  });

  function noticeSlot(el) {
    return document.querySelector(el.getAttribute("data-live-notices"));
  }

  function noticeShow(el) {
    var slot = noticeSlot(el);
    if (!slot || slot.querySelector(".live-pill")) return;
    var pill = document.createElement("button");
    pill.type = "button";
    pill.className = "live-pill";
    pill.textContent = el.getAttribute("data-live-label") || "Updated · show";
    pill.addEventListener("click", function () {
      el._liveShow = true;
      pill.disabled = true;
      htmx.trigger(el, "live");
    });
    slot.appendChild(pill);
  }

  function noticeClear(el) {
    var slot = noticeSlot(el);
    if (slot) slot.querySelectorAll(".live-pill").forEach(function (p) { p.remove(); });
  }

  // --- the stream, or polling where there is none ----------------------------------------------

  function closeStream() {
    if (source) {
      source.close();
      source = null;
    }
  }

  function connect() {
    clearTimeout(retryTimer);
    closeStream();
    if (document.hidden) return;
    var scopes = pageScopes();
    openScopes = scopes.join(" ");
    if (!scopes.length) return;
    if (!window.EventSource) { mode = "poll"; startPolling(); return; }
    setState(failures ? "reconnecting" : "connecting");
    var es = new EventSource(streamUrl + "?" + scopeQuery(scopes));
    source = es;
    es.addEventListener("hello", function (event) {
      failures = 0;
      setState("live");
      apply((parseJSON(event.data) || {}).versions);
    });
    es.addEventListener("changed", function (event) {
      apply(parseJSON(event.data));
    });
    es.addEventListener("bye", function (event) {
      // The server ended the stream for good: signed out, session expired, or access changed.
      closeStream();
      stopPolling();
      var reason = (parseJSON(event.data) || {}).reason || "signed out";
      setState("offline", "Live updates stopped (" + reason + "): reload the page");
    });
    es.addEventListener("error", function () {
      if (es !== source) return;
      if (es.readyState === EventSource.CONNECTING) {
        // Dropped: the browser reconnects by itself, and the next "hello" catches the page up.
        failures++;
        setState(failures > 3 || navigator.onLine === false ? "offline" : "reconnecting");
        return;
      }
      // Closed for good: a 204 (no stream on this server), 401, or no answer at all. Ask which.
      closeStream();
      probe();
    });
  }

  function probe() {
    versionsFetch()
      .then(function (data) {
        if (!data) return;
        apply(data.versions);
        if (data.stream) {
          failures++;
          setState("reconnecting");
          retryTimer = setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, Math.min(failures, 5))));
        } else {
          mode = "poll";
          if (data.refused) {
            // Too many live tabs (or a full server): this page checks for changes instead, and says so.
            setState("polling", "No live stream: " + data.refused + ". Checking for changes every " + Math.round(pollMs / 1000) + " s");
          } else {
            setState("live");
          }
          startPolling();
        }
      })
      .catch(function () {
        failures++;
        setState("offline");
        retryTimer = setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, Math.min(failures, 5))));
      });
  }

  function versionsFetch() {
    return fetch(versionsUrl + "?" + scopeQuery(pageScopes()), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) {
          stopPolling();
          setState("offline", "Signed out: reload the page to sign in again");
          return null;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      });
  }

  function poll() {
    if (document.hidden) return;
    versionsFetch()
      .then(function (data) {
        if (!data) return;
        if (!data.refused) setState("live");
        apply(data.versions);
      })
      .catch(function () { setState(navigator.onLine === false ? "offline" : "reconnecting"); });
  }

  function startPolling() {
    stopPolling();
    pollTimer = setInterval(poll, pollMs);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      // A hidden tab holds no connection (browsers allow about six per site, shared by every tab).
      closeStream();
      stopPolling();
      clearTimeout(retryTimer);
      setState("paused");
    } else if (mode === "poll") {
      poll();
      startPolling();
    } else {
      failures = 0;
      connect();
    }
  });
  window.addEventListener("pagehide", closeStream);
  window.addEventListener("online", function () { if (mode === "stream" && !source) connect(); });

  // --- alerts: the bell (static/js/alerts.js) looks again when a lockbox scope moved -------------

  function alertsCheck() {
    document.dispatchEvent(new CustomEvent("leasing:alerts-check"));
  }

  // --- start ------------------------------------------------------------------------------------

  caughtUp();
  if (document.hidden) setState("paused");
  else connect();
})();
