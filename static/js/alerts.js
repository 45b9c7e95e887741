// The lockbox alerts bell: a count in the top bar and a panel that opens in the page's flow under
// it (it never floats over page controls). The list comes from /live/alerts/; live.js says when a
// lockbox scope moved ("leasing:alerts-check"); opening the panel tells the server they were seen.
// Without JavaScript the bell is a link to /alerts/.
(function () {
  "use strict";

  var bell = document.getElementById("alert-bell");
  var panel = document.getElementById("alert-panel");
  var count = document.getElementById("alert-count");
  if (!bell || !panel || !count) return;
  var listUrl = bell.dataset.alertsUrl;
  var seenUrl = bell.dataset.alertsSeenUrl;

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  function showCount(n) {
    count.textContent = n > 99 ? "99+" : String(n);
    count.hidden = n === 0;
    bell.classList.toggle("has-alerts", n > 0);
    bell.setAttribute("title", n ? n + " new lockbox alert" + (n === 1 ? "" : "s") : "Lockbox alerts");
  }

  function refresh() {
    return fetch(listUrl, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(new Error("HTTP " + response.status)); })
      .then(function (html) {
        var answer = document.createElement("template");
        answer.innerHTML = html;
        var head = answer.content.querySelector("[data-alerts-unseen]");
        var unseen = head ? parseInt(head.getAttribute("data-alerts-unseen") || "0", 10) : 0;
        if (head) head.remove();
        panel.replaceChildren(answer.content);
        if (window.htmx) window.htmx.process(panel);
        showCount(panel.hidden ? unseen : 0);
      })
      .catch(function () { /* the next notice asks again */ });
  }

  function markSeen() {
    showCount(0);
    fetch(seenUrl, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() } }).catch(function () {});
  }

  function setOpen(open) {
    panel.hidden = !open;
    bell.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      refresh().then(markSeen);
    }
  }

  bell.addEventListener("click", function (event) {
    if (event.metaKey || event.ctrlKey || event.shiftKey) return; // a new tab: the page
    event.preventDefault();
    setOpen(panel.hidden);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) {
      setOpen(false);
      bell.focus();
    }
  });
  document.addEventListener("leasing:alerts-check", refresh);
  refresh();
})();
