// Maintenance > Maintenance: after a restart, restore or factory default the page waits
// for the appliance to answer again (a new start token in X-Doorctl-Start), then goes
// on. Kept out of the markup for the strict CSP; works after htmx swaps too.
(function () {
  const EVERY_MS = 1000;
  const SLOW_MS = 60000;

  function wait(root) {
    const card = root.querySelector("#maintenance-restarting[data-start]");
    if (!card || card.dataset.waiting) return;
    card.dataset.waiting = "yes";
    const began = Date.now();
    const timer = window.setInterval(async () => {
      if (Date.now() - began > SLOW_MS) document.getElementById("restarting-slow")?.removeAttribute("hidden");
      try {
        const answer = await fetch(card.dataset.next, { cache: "no-store", credentials: "same-origin" });
        const start = answer.headers.get("X-Doorctl-Start");
        if (!start || start === card.dataset.start) return;
        window.clearInterval(timer);
        window.location.assign(card.dataset.next);
      } catch (_) {
        // not answering yet: it is restarting
      }
    }, EVERY_MS);
  }

  document.addEventListener("htmx:load", (event) => wait(event.detail.elt));
  document.addEventListener("DOMContentLoaded", () => wait(document));
})();
