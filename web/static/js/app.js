// Small behaviours the pages share. No inline scripts anywhere: the CSP forbids them.
(function () {
  "use strict";

  function statusOf(elt) {
    var form = elt && elt.closest ? elt.closest("form.q-form") : null;
    return form ? form.querySelector(".q-status") : null;
  }

  function markUnsaved(elt) {
    var status = statusOf(elt);
    if (!status) return;
    status.classList.add("unsaved");
    status.textContent = status.getAttribute("data-unsaved") || "Not saved";
  }

  // A save that did not reach the database leaves a visible mark on its question.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var xhr = evt.detail.xhr;
    if (!xhr) return;
    if (xhr.status === 401 || xhr.status === 0) markUnsaved(evt.detail.elt);
  });
  document.addEventListener("htmx:sendError", function (evt) { markUnsaved(evt.detail.elt); });

  // Leaving the page with unsaved or refused answers asks first.
  window.addEventListener("beforeunload", function (evt) {
    if (document.querySelector(".q-status.unsaved, .q-status.error, .q-status.conflict")) {
      evt.preventDefault();
      evt.returnValue = "";
    }
  });

  document.addEventListener("click", function (evt) {
    var target = evt.target.closest ? evt.target.closest("[data-action='print']") : null;
    if (target) window.print();
  });
})();
