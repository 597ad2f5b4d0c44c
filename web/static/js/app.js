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
    if (!xhr || !statusOf(evt.detail.elt)) return;
    var ok = xhr.status >= 200 && xhr.status < 300;
    if (ok) {
      retryDelay = 0;
      return;
    }
    if (xhr.status === 409 || xhr.status === 422) return;
    markUnsaved(evt.detail.elt);
    // Passing troubles (a busy database, a gateway, a lost connection) are retried by
    // themselves, after the wait the server asks for, then longer and longer.
    if (xhr.status === 0 || xhr.status === 502 || xhr.status === 503 || xhr.status === 504) {
      retryLater(parseInt(xhr.getResponseHeader("Retry-After"), 10));
    }
  });
  document.addEventListener("htmx:sendError", function (evt) {
    markUnsaved(evt.detail.elt);
    retryLater(NaN);
  });

  // One pending retry at a time: 2 s by default, doubling up to a minute while it keeps
  // failing; a save that goes through starts again from the shortest wait.
  var retryTimer = null;
  var retryDelay = 0;
  function retryLater(seconds) {
    if (retryTimer) return;
    var asked = isNaN(seconds) ? 0 : Math.min(Math.max(seconds, 1), 60) * 1000;
    retryDelay = Math.min(Math.max(asked, retryDelay * 2, 2000), 60000);
    retryTimer = window.setTimeout(function () {
      retryTimer = null;
      resendUnsaved();
    }, retryDelay);
  }

  // Back on the page (after signing in again in another tab, or after a failed save), and when
  // a retry falls due: take the session's form token, which a new sign-in changed, and send
  // the answers marked "not saved" again. A stale one then meets the usual conflict message.
  // Still signed out, nothing happens until the next visit; the server still out of reach,
  // another retry is set.
  var resending = false;
  function resendUnsaved() {
    var alert = document.getElementById("session-alert");
    var url = alert && alert.getAttribute("data-session-url");
    var pending = document.querySelectorAll("form.q-form .q-status.unsaved");
    if (!url || !pending.length || resending) return;
    resending = true;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.ok) return r.json();
        if (r.status !== 401) retryLater(parseInt(r.headers.get("Retry-After"), 10));
        return null;
      })
      .then(function (session) {
        if (!session || !session.csrf) return;
        document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRF-Token": session.csrf }));
        document.querySelectorAll("input[name=csrf_token]").forEach(function (input) {
          input.value = session.csrf;
        });
        alert.innerHTML = "";
        pending.forEach(function (status) { htmx.trigger(status.closest("form.q-form"), "submit"); });
      })
      .catch(function () { retryLater(NaN); }) // offline: the marks stay, and leaving asks
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
