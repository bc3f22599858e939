// The page shell: theme and main-menu visibility, remembered by this browser.
(function () {
  const root = document.documentElement;
  function toggleTheme() {
    const theme = root.dataset.theme === "dark" ? "light" : "dark";
    root.dataset.theme = theme;
    localStorage.setItem("doorctl.theme", theme);
  }
  function toggleMenu() {
    const hidden = root.classList.toggle("menu-hidden");
    localStorage.setItem("doorctl.menu", hidden ? "hidden" : "shown");
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest("#theme-toggle")) toggleTheme();
    if (event.target.closest("#menu-toggle")) toggleMenu();
  });
  // Close the user menu after navigating.
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("details.user-menu[open]").forEach((d) => d.removeAttribute("open"));
  });
})();
