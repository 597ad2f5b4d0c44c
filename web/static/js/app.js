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

  // --- The filling page, one section at a time -----------------------------------------------
  // Every section stays in the page (saves swap questions and show_if hides them wherever they
  // are); a section link shows its section and hides the others. The links also work without
  // this script: they load the page again with ?section=.
  function sectionEl(id) {
    var el = id ? document.getElementById("sec-" + id) : null;
    return el && el.matches("section.q-section[data-section]") ? el : null;
  }

  function openSection() {
    var open = document.querySelector("section.q-section[data-section]:not([hidden])");
    return open ? open.getAttribute("data-section") : null;
  }

  function markCurrent(id) {
    document.querySelectorAll("#progress a[data-section]").forEach(function (a) {
      if (a.getAttribute("data-section") === id) a.setAttribute("aria-current", "step");
      else a.removeAttribute("aria-current");
    });
  }

  function showSection(id, how) {
    var target = sectionEl(id);
    if (!target) return false;
    document.querySelectorAll("section.q-section[data-section]").forEach(function (s) {
      s.hidden = s !== target;
    });
    markCurrent(id);
    if (how === "push") {
      var url = new URL(window.location.href);
      url.searchParams.set("section", id);
      url.hash = "";
      window.history.pushState({ section: id }, "", url.toString());
    }
    if (how !== "quiet") target.scrollIntoView({ block: "start" });
    return true;
  }

  document.addEventListener("click", function (evt) {
    var link = evt.target.closest ? evt.target.closest("a[data-section]") : null;
    if (!link || evt.ctrlKey || evt.metaKey || evt.shiftKey || evt.button !== 0) return;
    if (showSection(link.getAttribute("data-section"), "push")) evt.preventDefault();
  });

  window.addEventListener("popstate", function () {
    var id = new URL(window.location.href).searchParams.get("section");
    var first = document.querySelector("section.q-section[data-section]");
    if (first) showSection(id && sectionEl(id) ? id : first.getAttribute("data-section"), "pop");
  });

  // A link to one question (#q-...) opens the section it is in.
  function openHashTarget() {
    var id = window.location.hash.slice(1);
    var el = id ? document.getElementById(id) : null;
    var section = el && el.closest ? el.closest("section.q-section[data-section]") : null;
    if (!section) return;
    showSection(section.getAttribute("data-section"), "quiet");
    el.scrollIntoView({ block: "center" });
  }
  window.addEventListener("hashchange", openHashTarget);

  // A save swaps the side list in again, rendered without knowing which section is open.
  // An answer that now needs a reason (an N/A, an exemption) opens its reason box.
  document.addEventListener("htmx:afterSettle", function () {
    var id = openSection();
    if (id) markCurrent(id);
    document.querySelectorAll("[data-open-reason]").forEach(function (el) {
      var block = document.getElementById(el.getAttribute("data-open-reason"));
      var box = block && block.querySelector("details.q-comment");
      if (!box) return;
      box.open = true;
      // The box asked for a comment until now: it asks for the reason, as a reload would show.
      if (!box.classList.contains("needs-reason")) {
        var label = el.getAttribute("data-reason-label");
        var summary = box.querySelector("summary");
        var area = box.querySelector("textarea");
        box.classList.add("needs-reason");
        if (summary && label) summary.textContent = label;
        if (area && label) {
          area.setAttribute("aria-label", label);
          if (!area.value.trim()) area.setAttribute("aria-invalid", "true");
        }
      }
    });
  });

  // --- A ratio's result, live as the two numbers are typed ------------------------------------
  // Read a number as the server does (assess/forms.py read_number: full-width digits, thousands
  // separators and spaces allowed), and round the result as filling.ratio_result does.
  function readNumber(text) {
    var raw = (text || "").normalize("NFKC").trim().replace(/[, ]/g, "").replace(/%$/, "");
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) return NaN;
    return Number(raw);
  }

  function ratioText(x) {
    return x.toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
  }

  function updateRatio(form) {
    var out = form.querySelector("output.ratio-result");
    var num = form.querySelector("input[name=numerator]");
    var den = form.querySelector("input[name=denominator]");
    if (!out || !num || !den) return;
    var n = readNumber(num.value);
    var d = readNumber(den.value);
    var scale = Number(out.getAttribute("data-scale")) || 1;
    var x = n / d * scale;
    if (isFinite(x) && d !== 0 && n >= 0 && d > 0) {
      out.textContent = "= " + ratioText(x) + " " + out.getAttribute("data-unit");
    } else {
      out.textContent = out.getAttribute("data-empty");
    }
  }

  document.addEventListener("input", function (evt) {
    var t = evt.target;
    if (t && t.matches && t.matches("form.q-form input[name=numerator], form.q-form input[name=denominator]")) {
      updateRatio(t.closest("form.q-form"));
    }
  });

  function ready() {
    if (window.location.hash) openHashTarget();
    var id = openSection();
    if (id) markCurrent(id);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
