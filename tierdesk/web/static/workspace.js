/* tierdesk agent workspace: keyboard shortcuts (no dependencies).
 *   j / k      next / previous ticket in a list     o (or Enter)  open it
 *   r          public reply                         n          internal note
 *   e          escalate (hand-off prefilled)        a          assign to me ("Take it")
 *   ?          this help                            Esc        leave a field / close help
 * Listeners sit on `document`, so they survive htmx (hx-boost) swapping the body. */
(function () {
  "use strict";
  var selected = -1;

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-list] tbody tr[data-href]"));
  }

  function select(delta) {
    var list = rows();
    if (!list.length) return;
    selected = Math.max(0, Math.min(list.length - 1, selected + delta));
    list.forEach(function (row, i) {
      row.classList.toggle("selected", i === selected);
      if (i === selected) row.setAttribute("aria-selected", "true");
      else row.removeAttribute("aria-selected");
    });
    var link = list[selected].querySelector("a");
    if (link) link.focus({ preventScroll: true });
    list[selected].scrollIntoView({ block: "nearest" });
  }

  function focusField(id, detailsId) {
    if (detailsId) {
      var details = document.getElementById(detailsId);
      if (details) details.open = true;
    }
    var field = document.getElementById(id);
    if (field) {
      field.focus();
      field.scrollIntoView({ block: "center" });
      return true;
    }
    return false;
  }

  function help() {
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target && target.closest && target.closest("[data-shortcuts-help]")) {
      event.preventDefault();
      help();
    }
    // "Insert link into reply" on a suggested help-center article.
    var insert = target && target.closest ? target.closest("[data-insert-link]") : null;
    var reply = document.getElementById("reply-body");
    if (insert && reply) {
      event.preventDefault();
      var text = insert.getAttribute("data-insert-link");
      reply.value = reply.value ? reply.value.replace(/\s*$/, "") + "\n\n" + text : text;
      reply.focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && typing(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (typing(event.target)) return;
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && dialog.open) return;
    var handled = true;
    switch (event.key) {
      case "j": select(1); break;
      case "k": select(-1); break;
      case "o": {
        // Enter on the selected row's focused link opens it natively; "o" does the same.
        var list = rows();
        var link = selected >= 0 && list[selected] ? list[selected].querySelector("a") : null;
        if (link) link.click(); else handled = false;
        break;
      }
      case "r": handled = focusField("reply-body"); break;
      case "n": handled = focusField("note-body"); break;
      case "e": handled = focusField("esc-reason", "escalate"); break;
      case "a": {
        var take = document.getElementById("take-it");
        if (take) take.click(); else handled = false;
        break;
      }
      case "?": help(); break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });

  // On a phone the list comes first: filter boxes start folded unless a filter is in use.
  function foldForPhone() {
    if (!window.matchMedia("(max-width: 760px)").matches) return;
    document.querySelectorAll("details[data-collapse-on-phone]:not([data-keep-open])").forEach(function (d) {
      d.open = false;
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", foldForPhone);
  else foldForPhone();

  // A new page (full load or htmx swap) starts with nothing selected.
  document.addEventListener("htmx:afterSwap", function () { selected = -1; foldForPhone(); });
})();
