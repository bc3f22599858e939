// Behaviour of single pages, kept out of the markup: the Content-Security-Policy allows
// no inline scripts, styles or event handlers. Each part works after htmx swaps too.
(function () {
  // Schedules: place each interval of the week view from its data attributes.
  function placeBlocks(root) {
    root.querySelectorAll(".week .block[data-left]").forEach((block) => {
      block.style.left = block.dataset.left + "%";
      block.style.width = block.dataset.width + "%";
    });
  }

  // Peripherals: the live readers table is swapped every second; the capabilities a
  // user opened stay open across the swaps.
  const openCapabilities = new Set();
  document.addEventListener(
    "toggle",
    (event) => {
      const details = event.target;
      if (!details.matches || !details.matches("details.capabilities")) return;
      if (details.open) openCapabilities.add(details.id);
      else openCapabilities.delete(details.id);
    },
    true,
  );
  function reopenCapabilities(root) {
    root.querySelectorAll("details.capabilities").forEach((details) => {
      if (openCapabilities.has(details.id)) details.open = true;
    });
  }
  document.addEventListener("htmx:load", (event) => reopenCapabilities(event.detail.elt));

  // MQTT client: a new protocol brings its default port (unless one was typed) and
  // shows the TLS settings (ALPN, certificates) only for the protocols over TLS.
  function protocolChanged(select) {
    const port = select.form.elements.namedItem("port");
    const defaults = JSON.parse(select.dataset.defaults);
    if (!port.value || Number(port.value) === defaults[select.dataset.previous]) {
      port.value = defaults[select.value];
    }
    select.dataset.previous = select.value;
    document.getElementById("mqtt-tls").hidden = !["ssl", "wss"].includes(select.value);
  }

  document.addEventListener("change", (event) => {
    const select = event.target.closest("#mqtt-protocol");
    if (select) protocolChanged(select);
  });
  document.addEventListener("htmx:load", (event) => placeBlocks(event.detail.elt));
  document.addEventListener("DOMContentLoaded", () => placeBlocks(document));
})();
