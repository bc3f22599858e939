// Date and time: the device's clock ticking in its own time zone (from the time the
// page was served, so a browser whose clock is wrong still shows the device's), and
// the parts of the form that belong to one synchronization shown only for it.
(function () {
  function tick() {
    const clock = document.getElementById("date-time-now");
    if (!clock) return;
    if (!clock.dataset.skew) {
      clock.dataset.skew = String(Number(clock.dataset.epoch) * 1000 - Date.now());
    }
    const now = new Date(Date.now() + Number(clock.dataset.skew));
    const options = { dateStyle: "full", timeStyle: "medium", timeZone: clock.dataset.zone };
    try {
      clock.textContent = new Intl.DateTimeFormat(document.documentElement.lang, options).format(now);
    } catch (error) {
      clock.textContent = now.toISOString();
    }
    clock.dateTime = now.toISOString();
  }

  function showChosen() {
    document.querySelectorAll("[data-when]").forEach((part) => {
      const [name, value] = part.dataset.when.split("=");
      const control = document.querySelector(`[data-shows="${name}"]`);
      if (control) part.hidden = control.value !== value;
    });
  }

  document.addEventListener("change", (event) => {
    if (event.target.closest("[data-shows]")) showChosen();
  });
  function ready() {
    showChosen();
    tick();
  }

  document.addEventListener("DOMContentLoaded", ready);
  document.addEventListener("htmx:load", ready);
  setInterval(tick, 1000);
})();
