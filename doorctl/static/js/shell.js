// The page shell: theme, and the main menu. On a wide screen the menu button shows or
// hides the left menu (remembered by this browser); on a phone or tablet the menu is a
// drawer, closed on every page until the button opens it.
(function () {
  const root = document.documentElement;
  const drawer = matchMedia("(max-width: 1024px)");

  function toggleTheme() {
    const theme = root.dataset.theme === "dark" ? "light" : "dark";
    root.dataset.theme = theme;
    localStorage.setItem("doorctl.theme", theme);
  }

  function toggleMenu() {
    if (drawer.matches) {
      setDrawer(!root.classList.contains("menu-open"));
    } else {
      const hidden = root.classList.toggle("menu-hidden");
      localStorage.setItem("doorctl.menu", hidden ? "hidden" : "shown");
    }
    showExpanded();
  }

  function setDrawer(open) {
    root.classList.toggle("menu-open", open);
    showExpanded();
    if (open) document.querySelector("#menu a")?.focus();
  }

  // The button tells assistive technology whether the menu is showing now.
  function showExpanded() {
    const button = document.getElementById("menu-toggle");
    if (!button) return;
    const shown = drawer.matches ? root.classList.contains("menu-open") : !root.classList.contains("menu-hidden");
    button.setAttribute("aria-expanded", String(shown));
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("#theme-toggle")) toggleTheme();
    if (event.target.closest("#menu-toggle")) toggleMenu();
    if (event.target.closest("#menu-scrim")) setDrawer(false);
    if (!event.target.closest("details.user-menu")) closeUserMenus();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    if (root.classList.contains("menu-open")) {
      setDrawer(false);
      document.getElementById("menu-toggle")?.focus();
    }
    closeUserMenus();
  });

  function closeUserMenus() {
    document.querySelectorAll("details.user-menu[open]").forEach((d) => d.removeAttribute("open"));
  }

  // After navigating (the page's body or #main swapped, not a panel refreshing itself)
  // the drawer and the user menu close, and the button tells the truth.
  function navigated(event) {
    const target = event.detail.target;
    return target === document.body || target.id === "main";
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!navigated(event)) return;
    root.classList.remove("menu-open");
    closeUserMenus();
    showExpanded();
  });
  drawer.addEventListener("change", function () {
    root.classList.remove("menu-open");
    showExpanded();
  });
  document.addEventListener("DOMContentLoaded", showExpanded);
})();
