// Small behaviours the pages share. No inline scripts anywhere: the CSP forbids them.
(function () {
  "use strict";

  function statusOf(elt) {
    var form = elt && elt.closest ? elt.closest("form.q-form") : null;
    return form ? form.querySelector(".q-status") : null;
  }

  function markUnsaved(elt, why) {
    var status = statusOf(elt);
    if (!status) return;
    status.classList.add("unsaved");
    status.textContent = status.getAttribute(why || "data-unsaved") || "Not saved";
  }

  // A ratio is one answer of two numbers: with only one of them typed there is nothing to save
  // yet (the server would refuse it), so the save waits for the other; emptying both clears.
  document.addEventListener("htmx:confirm", function (evt) {
    var form = evt.detail.elt;
    if (!form || !form.matches || !form.matches("form.q-form")) return;
    var num = form.querySelector("input[name=numerator]");
    var den = form.querySelector("input[name=denominator]");
    var na = form.querySelector("input[name=na]");
    if (!num || !den || (na && na.checked)) return;
    if ((num.value.trim() === "") !== (den.value.trim() === "")) {
      evt.preventDefault();
      markUnsaved(form, "data-half");
    }
  });

  // A save that did not reach the database leaves a visible mark on its question. A refused
  // value (422) or a conflict (409) comes back as the question's own status line; any other
  // failure (signed out, a lost connection, a busy database, a server error) is shown
  // elsewhere, so the question itself must say that it is not saved.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var xhr = evt.detail.xhr;
    if (!xhr) return;
    var ok = xhr.status >= 200 && xhr.status < 300;
    if (!ok && xhr.status !== 409 && xhr.status !== 422) markUnsaved(evt.detail.elt);
  });
  document.addEventListener("htmx:sendError", function (evt) { markUnsaved(evt.detail.elt); });

  // Back on the page (after signing in again in another tab, or after a failed save): take the
  // session's form token, which a new sign-in changed, and send the answers marked "not saved"
  // again. A stale one then meets the usual conflict message; still signed out, nothing
  // happens until the next visit.
  var resending = false;
  function resendUnsaved() {
    var alert = document.getElementById("session-alert");
    var url = alert && alert.getAttribute("data-session-url");
    var pending = document.querySelectorAll("form.q-form .q-status.unsaved");
    if (!url || !pending.length || resending) return;
    resending = true;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (session) {
        if (!session || !session.csrf) return;
        document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRF-Token": session.csrf }));
        document.querySelectorAll("input[name=csrf_token]").forEach(function (input) {
          input.value = session.csrf;
        });
        alert.innerHTML = "";
        pending.forEach(function (status) { htmx.trigger(status.closest("form.q-form"), "submit"); });
      })
      .catch(function () { /* offline: the marks stay, and so does the question on leaving */ })
      .then(function () { resending = false; });
  }
  window.addEventListener("focus", resendUnsaved);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) resendUnsaved();
  });

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
