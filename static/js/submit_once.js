// Idempotent submits (dashboard/submit_once.py): a form carrying a one-time key (input[name=submit_key])
// or a lone button marked data-submit-once disables itself once submitted, so a double click sends
// one request. The server answers a repeat with the first result anyway; this spares the request.
// If an htmx request fails (network, 5xx) the button comes back so the person can try again.
(function () {
  "use strict";

  function submitters(form) {
    return Array.prototype.slice.call(form.querySelectorAll('button[type="submit"], button:not([type]), input[type="submit"]'));
  }

  function disable(buttons) {
    // After this tick: the browser (or htmx) has already read the form, submitter included.
    window.setTimeout(function () {
      buttons.forEach(function (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
        button.dataset.submitOnceDisabled = "1";
      });
    }, 0);
  }

  function enable(root) {
    var sent = Array.prototype.slice.call(root.querySelectorAll("[data-submit-once-sent]"));
    if (root.matches && root.matches("[data-submit-once-sent]")) sent.push(root);
    sent.forEach(function (elt) { delete elt.dataset.submitOnceSent; });
    Array.prototype.slice.call(root.querySelectorAll("[data-submit-once-disabled]")).forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      delete button.dataset.submitOnceDisabled;
    });
  }

  // Capture phase: this runs before htmx's own listener on the form or button, so a second submit
  // that slips in before the button is disabled is stopped here.
  function once(event, elt, buttons) {
    if (elt.dataset.submitOnceSent) {
      event.preventDefault();
      event.stopPropagation();
      return;
    }
    elt.dataset.submitOnceSent = "1";
    disable(buttons);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.querySelector || !form.querySelector('input[name="submit_key"]')) return;
    once(event, form, submitters(form));
  }, true);

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-submit-once]");
    if (button) once(event, button, [button]);
  }, true);

  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || event.detail.successful || !elt.querySelectorAll) return;
    enable(elt.matches("[data-submit-once]") ? elt.parentNode || document : elt);
  });

  // Back to a page from the browser's cache: its buttons work again (a new submit reuses the key,
  // and the server answers with the first result).
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) enable(document);
  });
})();
