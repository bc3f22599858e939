// Maintenance > Firmware: send the bundle with its progress, say each phase, then wait
// for doorctl to come back and reload the page. Kept out of the markup for the strict
// CSP; works after htmx swaps too.
(function () {
  const POLL_MS = 1000;

  function csrfToken() {
    const headers = document.body.getAttribute("hx-headers");
    try {
      return JSON.parse(headers)["X-CSRFToken"];
    } catch (error) {
      return "";
    }
  }

  function say(form, text, tone) {
    const phase = form.querySelector("#firmware-phase");
    phase.textContent = text;
    phase.className = tone ? "error" : "";
  }

  function fieldError(form, text) {
    const field = form.querySelector('[data-field="bundle"]');
    field.classList.toggle("field-invalid", Boolean(text));
    let error = field.querySelector(".field-error");
    if (!text) {
      if (error) error.remove();
      return;
    }
    if (!error) {
      error = document.createElement("small");
      error.className = "error field-error";
      error.id = "bundle-error";
      error.setAttribute("role", "alert");
      field.appendChild(error);
    }
    error.textContent = text;
  }

  // After the switch: ask until another version answers or the last outcome changed
  // (a fallback keeps the version), then show the page again.
  function waitForRestart(running, lastTime) {
    window.setTimeout(function ask() {
      fetch("/api/v1/firmware", { headers: { Accept: "application/json" }, cache: "no-store" })
        .then((answer) => (answer.ok ? answer.json() : Promise.reject(answer.status)))
        .then((status) => {
          const last = status.last ? String(status.last.time) : "";
          if (status.version !== running || last !== lastTime) {
            window.location.assign(window.location.pathname);
          } else {
            window.setTimeout(ask, POLL_MS);
          }
        })
        .catch(() => window.setTimeout(ask, POLL_MS));
    }, POLL_MS * 2);
  }

  // While the device checks and installs, say which phase it is in.
  function followPhases(form, request) {
    window.setTimeout(function ask() {
      if (request.readyState === XMLHttpRequest.DONE) return;
      fetch("/api/v1/firmware", { headers: { Accept: "application/json" }, cache: "no-store" })
        .then((answer) => (answer.ok ? answer.json() : {}))
        .then((status) => {
          const text = status.phase && form.dataset[status.phase];
          if (text && request.readyState !== XMLHttpRequest.DONE) say(form, text);
        })
        .catch(() => null)
        .finally(() => window.setTimeout(ask, POLL_MS));
    }, POLL_MS);
  }

  function send(form) {
    const file = form.querySelector("#bundle").files[0];
    fieldError(form, "");
    if (!file) return fieldError(form, form.dataset.choose);
    if (file.size > Number(form.dataset.maxBytes)) return fieldError(form, form.dataset.tooLarge);
    const progress = form.querySelector("#firmware-progress");
    const button = form.querySelector("#firmware-send");
    const older = form.querySelector("#allow_older").checked ? "?allow_older=1" : "";
    const request = new XMLHttpRequest();
    request.open("POST", form.dataset.upgradeUrl + older);
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.setRequestHeader("X-CSRFToken", csrfToken());
    request.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.round((100 * event.loaded) / event.total);
      progress.value = percent;
      say(form, form.dataset.sending.replace("{percent}", percent + "%"));
    });
    request.upload.addEventListener("load", () => {
      say(form, form.dataset.checking);
      followPhases(form, request);
    });
    request.addEventListener("load", () => {
      let answer = {};
      try {
        answer = JSON.parse(request.responseText);
      } catch (error) {
        answer = {};
      }
      if (request.status === 202) {
        window.location.assign(window.location.pathname + "?restarting=1");
        return;
      }
      button.disabled = false;
      progress.hidden = true;
      say(form, "");
      fieldError(form, (answer.fields && answer.fields.bundle) || answer.error || form.dataset.failed);
    });
    request.addEventListener("error", () => {
      button.disabled = false;
      say(form, form.dataset.failed, "error");
    });
    button.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    request.send(file);
  }

  function init(root) {
    const form = root.querySelector ? root.querySelector("#firmware-form") : null;
    if (form && !form.dataset.ready) {
      form.dataset.ready = "1";
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        send(form);
      });
    }
    const waiting = root.querySelector ? root.querySelector("[data-firmware-wait]") : null;
    if (waiting && !waiting.dataset.ready) {
      waiting.dataset.ready = "1";
      waitForRestart(waiting.dataset.firmwareWait, waiting.dataset.firmwareLast);
    }
  }

  document.addEventListener("htmx:load", (event) => init(event.detail.elt));
  document.addEventListener("DOMContentLoaded", () => init(document));
})();
