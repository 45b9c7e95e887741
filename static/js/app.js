// Leasing Desk: the little JavaScript the pages use. Every page also works without it.
(function () {
  "use strict";

  var wide = window.matchMedia("(min-width: 721px)");

  // Filters sit in a <details> sheet: collapsed on a phone, always open on a wide screen.
  function filterSheets() {
    document.querySelectorAll("details.filter-sheet").forEach(function (d) {
      if (wide.matches) d.open = true;
    });
  }
  filterSheets();
  wide.addEventListener("change", filterSheets);

  // The account switcher switches as soon as an account is picked (a button does it without JS).
  document.addEventListener("change", function (event) {
    var select = event.target.closest && event.target.closest("select[data-autosubmit]");
    if (select) select.form.submit();
  });

  // Quick view: a side panel filled by htmx; closed by its button or Escape; the row stays marked.
  function quickClose() {
    var panel = document.getElementById("quickview");
    if (!panel) return;
    panel.classList.remove("open");
    panel.innerHTML = "";
    document.querySelectorAll("tr.cursor").forEach(function (row) { row.classList.remove("cursor"); });
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-quickview]")) { quickClose(); return; }
    var quick = event.target.closest("a.quick");
    if (quick) {
      document.querySelectorAll("tr.cursor").forEach(function (row) { row.classList.remove("cursor"); });
      var row = quick.closest("tr");
      if (row) row.classList.add("cursor");
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") quickClose();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "quickview") event.detail.target.classList.add("open");
    filterSheets();
  });

  // First sync (templates/partials/first_sync.html): once its banner has emptied itself, the counts
  // it marked "so far" / "provisional" are final as far as the page knows; drop the marks.
  document.addEventListener("htmx:afterSettle", function () {
    var banner = document.getElementById("first-sync");
    if (banner && !banner.querySelector(".banner")) {
      document.querySelectorAll(".provisional").forEach(function (mark) { mark.remove(); });
    }
  });
})();
