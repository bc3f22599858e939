// The design system's behaviour (templates/ui/macros.html): the confirmation dialog for
// destructive actions and dismissible result toasts. No inline handlers: the
// Content-Security-Policy allows none.
(function () {
  // Every hx-confirm opens our dialog instead of the browser's confirm(): it names what
  // goes (the form's question) and its button says what happens (the form's button).
  document.addEventListener("htmx:confirm", function (event) {
    const question = event.detail.question;
    const dialog = document.getElementById("confirm-dialog");
    if (!question || !dialog) return;
    event.preventDefault();
    const submit = event.detail.elt.querySelector("button[type=submit]") || event.detail.elt;
    ask(dialog, question, submit.dataset.confirmButton || submit.textContent.trim() || "Delete")
      .then((yes) => yes && event.detail.issueRequest(true));
  });

  function ask(dialog, question, action) {
    dialog.querySelector("#confirm-message").textContent = question;
    dialog.querySelector("#confirm-ok").textContent = action;
    dialog.showModal();
    return new Promise((resolve) => {
      function answer(event) {
        const button = event.target.closest("#confirm-ok, #confirm-cancel");
        if (!button) return;
        dialog.removeEventListener("click", answer);
        dialog.close();
        resolve(button.id === "confirm-ok");
      }
      dialog.addEventListener("click", answer);
      dialog.addEventListener("cancel", () => dialog.removeEventListener("click", answer), { once: true });
    });
  }

  // A table that a page did not put in a .table-wrap gets one, so a wide table scrolls
  // inside its card and never widens the page.
  function wrapTables(root) {
    root.querySelectorAll("#main table").forEach((table) => {
      if (table.parentElement.closest(".table-wrap, .table-scroll")) return;
      const wrap = document.createElement("div");
      wrap.className = "table-wrap";
      table.before(wrap);
      wrap.append(table);
    });
  }
  // A table wider than its card can be scrolled from the keyboard too.
  function focusableWhenWide() {
    document.querySelectorAll(".table-wrap, .table-scroll").forEach((wrap) => {
      if (wrap.scrollWidth > wrap.clientWidth) wrap.tabIndex = 0;
      else wrap.removeAttribute("tabindex");
    });
  }
  document.addEventListener("htmx:load", (event) => {
    wrapTables(event.detail.elt.parentElement || document);
    focusableWhenWide();
  });
  document.addEventListener("DOMContentLoaded", () => {
    wrapTables(document);
    focusableWhenWide();
  });
  window.addEventListener("resize", focusableWhenWide);

  const MAX_TOASTS = 3;
  const TOAST_SECONDS = 8;
  // Toasts: dismissed by their button; an HX-Trigger {"doorctl:toast": {"message", "tone"}}
  // from the server adds one.
  document.addEventListener("click", function (event) {
    const close = event.target.closest(".toast-close");
    if (close) close.closest(".toast").remove();
  });
  document.addEventListener("doorctl:toast", function (event) {
    const { message, tone } = event.detail;
    const region = document.querySelector("#main .toasts") || makeRegion();
    const toast = document.createElement("div");
    toast.className = `toast toast-${tone || "ok"}`;
    toast.setAttribute("role", "status");
    const text = document.createElement("span");
    text.className = "toast-message";
    text.textContent = message;
    toast.append(text);
    region.append(toast);
    // The newest few stay; a success leaves by itself, a refusal stays until dismissed.
    while (region.children.length > MAX_TOASTS) region.firstElementChild.remove();
    if (!tone || tone === "ok" || tone === "info") setTimeout(() => toast.remove(), TOAST_SECONDS * 1000);
  });

  function makeRegion() {
    const region = document.createElement("div");
    region.className = "toasts";
    document.getElementById("main").prepend(region);
    return region;
  }
})();
