// System > Network: after a change of HTTP and HTTPS or of the IP settings the browser
// goes to the new address, every deadline counts down, and a switch "assign ...
// automatically" hides the fields it makes unneeded. Kept out of the markup for the strict CSP;
// works after htmx swaps too.
(function () {
  function moveToNewAddress(root) {
    const moving = root.querySelector("#network-moving[data-address]");
    if (moving) window.setTimeout(() => window.location.assign(moving.dataset.address), 500);
  }

  // The seconds left as the device counted them when it sent the page (the browser's
  // clock may differ from the device's).
  function countDown() {
    const now = Date.now() / 1000;
    document.querySelectorAll("[data-seconds-left]").forEach((element) => {
      element.dataset.until ||= String(now + Number(element.dataset.secondsLeft));
      const left = Math.max(0, Math.round(Number(element.dataset.until) - now));
      element.textContent = left + " s";
    });
  }

  // Fields holding an error stay in sight, whatever their switch says.
  function followSwitches(root) {
    root.querySelectorAll("[data-manual-for]").forEach((group) => {
      const toggle = document.getElementById(group.dataset.manualFor);
      if (!toggle || group.dataset.following) return;
      group.dataset.following = "yes";
      const show = () => {
        group.hidden = toggle.checked && !group.querySelector(".field-invalid");
      };
      toggle.addEventListener("change", show);
      show();
    });
  }

  function ready(root) {
    moveToNewAddress(root);
    followSwitches(root);
  }

  document.addEventListener("htmx:load", (event) => ready(event.detail.elt));
  document.addEventListener("DOMContentLoaded", () => ready(document));
  window.setInterval(countDown, 1000);
})();
