// Bulk selection and assignment on the prospects list (PRODUCT 4.1): a box per row, shift-click for
// a range, the header box for the page, then "select all matching this filter" (the ids come from
// the server). The selection lives in sessionStorage per account, so it survives paging and filter
// changes until "Clear". "Assign…" opens the dialog; the job's toast keeps polling its progress.
(function () {
  "use strict";

  var bar = document.getElementById("bulk-bar");
  if (!bar) return;
  var dialog = document.getElementById("bulk-dialog");
  var KEY = "leasing-desk:selection:" + bar.dataset.account;
  var JOB_KEY = "leasing-desk:bulk-job:" + bar.dataset.account;
  var selection = load();
  var lastBox = null;
  var matchingNote = "";

  function load() {
    try {
      return new Set(JSON.parse(sessionStorage.getItem(KEY) || "[]").map(String));
    } catch (e) {
      return new Set();
    }
  }

  function save() {
    sessionStorage.setItem(KEY, JSON.stringify(Array.from(selection)));
  }

  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#rows input.row-select"));
  }

  // Show the selection on whatever rows are on screen, and the bar's count and offers.
  function render() {
    var visible = boxes();
    var ticked = 0;
    visible.forEach(function (box) {
      box.checked = selection.has(box.value);
      if (box.checked) ticked++;
      var row = box.closest("tr");
      if (row) row.classList.toggle("selected", box.checked);
    });
    var header = document.getElementById("select-page");
    if (header) {
      header.checked = visible.length > 0 && ticked === visible.length;
      header.indeterminate = ticked > 0 && ticked < visible.length;
    }
    bar.hidden = selection.size === 0;
    document.getElementById("bulk-n").textContent = selection.size.toLocaleString();
    var offer = document.getElementById("bulk-offer");
    offer.hidden = !(visible.length > 0 && ticked === visible.length && !matchingNote);
    offer.querySelector("[data-page-n]").textContent = String(visible.length);
    var note = document.getElementById("bulk-note");
    note.hidden = !matchingNote;
    note.textContent = matchingNote;
  }

  function setBoxes(list, on) {
    list.forEach(function (box) {
      if (on) selection.add(box.value);
      else selection.delete(box.value);
    });
    matchingNote = "";
    save();
    render();
  }

  function selectAllMatching(button) {
    button.disabled = true;
    fetch(bar.dataset.matchingUrl + window.location.search, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        data.ids.forEach(function (id) { selection.add(String(id)); });
        save();
        matchingNote = "All " + data.count.toLocaleString() + " prospects matching this filter are selected" +
          (data.capped ? " (the most one assignment takes)." : ".");
        render();
      })
      .catch(function () {
        matchingNote = "Could not fetch the matching prospects; try again.";
        render();
      })
      .finally(function () { button.disabled = false; });
  }

  function openDialog() {
    var body = document.getElementById("bulk-dialog-body");
    body.innerHTML = "";
    htmx.ajax("POST", bar.dataset.dialogUrl, { target: "#bulk-dialog-body", values: { ids: Array.from(selection).join(",") } })
      .then(function () { if (!dialog.open) dialog.showModal(); });
  }

  function showToast(jobId) {
    sessionStorage.setItem(JOB_KEY, String(jobId));
    htmx.ajax("GET", bar.dataset.jobsUrl + jobId + "/toast/", { target: "#bulk-toast" });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches && target.matches("#rows input.row-select")) {
      var list = boxes();
      if (event.shiftKey && lastBox && list.indexOf(lastBox) >= 0) {
        var a = list.indexOf(lastBox), b = list.indexOf(target);
        setBoxes(list.slice(Math.min(a, b), Math.max(a, b) + 1), target.checked);
      } else {
        setBoxes([target], target.checked);
      }
      lastBox = target;
      return;
    }
    if (target.id === "select-page") { setBoxes(boxes(), target.checked); return; }
    var action = target.closest && target.closest("[data-bulk-clear], [data-bulk-all], [data-bulk-assign], [data-close-dialog], [data-dismiss-toast]");
    if (!action) return;
    if (action.hasAttribute("data-bulk-clear")) {
      selection.clear();
      matchingNote = "";
      save();
      render();
    } else if (action.hasAttribute("data-bulk-all")) {
      selectAllMatching(action);
    } else if (action.hasAttribute("data-bulk-assign")) {
      openDialog();
    } else if (action.hasAttribute("data-close-dialog")) {
      dialog.close();
    } else if (action.hasAttribute("data-dismiss-toast")) {
      sessionStorage.removeItem(JOB_KEY);
      document.getElementById("bulk-toast").innerHTML = "";
    }
  });

  // The job was created: close the dialog, forget the selection, follow the job in the toast.
  document.body.addEventListener("bulk:created", function (event) {
    var detail = event.detail || {};
    var job = detail.job || (detail.value && detail.value.job);
    dialog.close();
    selection.clear();
    matchingNote = "";
    save();
    render();
    if (job) sessionStorage.setItem(JOB_KEY, String(job));
  });

  // A refusal (400/403) is a message for the person: show it in the dialog instead of dropping it.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var inDialog = event.detail.target && (event.detail.target.closest("#bulk-dialog") || event.detail.target.id === "bulk-toast");
    if (inDialog && (status === 400 || status === 403 || status === 409)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      event.detail.target = document.getElementById("bulk-dialog-body");
      if (!dialog.open) dialog.showModal();
    }
  });

  // New rows (load more, a filter change) show the selection too.
  document.body.addEventListener("htmx:afterSwap", render);

  render();
  var running = sessionStorage.getItem(JOB_KEY);
  if (running) showToast(running);
})();
