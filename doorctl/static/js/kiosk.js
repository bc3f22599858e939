// The kiosk display: the clock, dimming after the minutes set, and the operator PIN's
// keypad for the door actions (when operator actions are on).
(function () {
  "use strict";
  const body = document.body;
  const clock = document.getElementById("kiosk-clock");
  const format = new Intl.DateTimeFormat(document.documentElement.lang || undefined,
    { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  function tick() {
    const now = new Date();
    clock.textContent = format.format(now);
    clock.setAttribute("datetime", now.toISOString());
    setTimeout(tick, 1000 - now.getMilliseconds());
  }

  // Dimming: after the minutes set without a touch, a dark veil; the touch that lifts
  // it does nothing else.
  const dimMinutes = Number(body.dataset.dimMinutes || 0);
  const veil = document.getElementById("kiosk-dim");
  let dimTimer = null;
  function awake() {
    clearTimeout(dimTimer);
    if (dimMinutes > 0) dimTimer = setTimeout(() => { veil.hidden = false; }, dimMinutes * 60000);
  }
  function touched(event) {
    if (!veil.hidden) {
      veil.hidden = true;
      event.preventDefault();
      event.stopPropagation();
    }
    awake();
  }

  const toast = document.getElementById("kiosk-toast");
  let toastTimer = null;
  function say(message, tone) {
    toast.textContent = message;
    toast.dataset.tone = tone;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, 5000);
  }

  // The keypad: digits show as dots; OK sends the action with the PIN.
  const dialog = document.getElementById("kiosk-pin");
  let pin = "";
  let pending = null;
  function show() {
    document.getElementById("kiosk-pin-shown").textContent = "\u2022".repeat(pin.length);
  }
  function ask(button) {
    pending = button;
    pin = "";
    show();
    document.getElementById("kiosk-pin-error").textContent = "";
    const title = document.getElementById("kiosk-pin-title");
    title.textContent = title.dataset.title.replace("{action}", button.dataset.label);
    dialog.showModal();
  }
  async function send() {
    const token = document.querySelector("meta[name=csrf-token]").content;
    const answer = await fetch(pending.dataset.url, {
      method: "POST",
      headers: { "X-CSRFToken": token, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ pin: pin }),
      credentials: "same-origin",
    });
    const reply = await answer.json().catch(() => ({}));
    pin = "";
    show();
    if (answer.ok) {
      dialog.close();
      say(reply.message || "", "ok");
    } else {
      document.getElementById("kiosk-pin-error").textContent = reply.error || answer.statusText;
    }
  }
  function key(event) {
    const button = event.target.closest("[data-key]");
    if (!button) return;
    const pressed = button.dataset.key;
    if (pressed === "cancel") dialog.close();
    else if (pressed === "clear") pin = "";
    else if (pressed === "ok") { if (pin) send(); return; }
    else if (pin.length < 8) pin += pressed;
    show();
  }

  document.addEventListener("pointerdown", touched, true);
  document.addEventListener("keydown", awake, true);
  document.addEventListener("click", (event) => {
    const action = event.target.closest(".kiosk-action");
    if (action && dialog) ask(action);
  });
  if (dialog) dialog.addEventListener("click", key);
  tick();
  awake();
})();
