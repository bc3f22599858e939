// System > Network: after a change of HTTP and HTTPS the browser goes to the new
// address, and every deadline counts down. Kept out of the markup for the strict CSP;
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

  document.addEventListener("htmx:load", (event) => moveToNewAddress(event.detail.elt));
  document.addEventListener("DOMContentLoaded", () => moveToNewAddress(document));
  window.setInterval(countDown, 1000);
})();
