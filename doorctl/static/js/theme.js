// Theme and main-menu visibility before the first paint, so a dark page never flashes light.
(function () {
  const root = document.documentElement;
  root.dataset.theme = localStorage.getItem("doorctl.theme")
    || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  if (localStorage.getItem("doorctl.menu") === "hidden") root.classList.add("menu-hidden");
})();
