// Assign one prospect (dashboard/views/prospect_assign.py): an "Assign…" link ([data-assign-one]) on
// the prospect page, the quick view and each list row opens its chooser in a dialog instead of a
// page; the form inside posts as a plain form and comes back to this page. Keyboard `a` clicks the
// link (static/js/keyboard.js). Without JavaScript the link is simply the chooser's page.
(function () {
  "use strict";

  var dialog = null;

  function ensureDialog() {
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "assign-one-dialog";
    dialog.className = "bulk-dialog assign-one-dialog";
    dialog.setAttribute("aria-labelledby", "assign-one-title");
    var body = document.createElement("div");
    body.id = "assign-one-body";
    dialog.appendChild(body);
    document.body.appendChild(dialog);
    return dialog;
  }

  function openChooser(href) {
    var url = new URL(href, window.location.href);
    url.searchParams.set("next", window.location.pathname + window.location.search);
    ensureDialog();
    htmx.ajax("GET", url.pathname + url.search, { target: "#assign-one-body", swap: "innerHTML" }).then(function () {
      if (!dialog.open) dialog.showModal();
      var first = dialog.querySelector("input[name=user_ids]");
      if (first) first.focus();
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-assign-one]");
    if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey && typeof htmx !== "undefined") {
      event.preventDefault();
      openChooser(link.href);
      return;
    }
    var close = event.target.closest && event.target.closest("[data-close-assign-one]");
    if (close && dialog && dialog.contains(close)) {
      event.preventDefault();
      dialog.close();
    }
  });
})();
