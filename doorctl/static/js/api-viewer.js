// The REST API viewer of the Help page: Swagger UI (vendored) over the device's own
// OpenAPI document. No validator URL: the appliance often has no internet, and the
// document must never leave it.
// The theme comes from theme.js, loaded first, as on every page.
window.addEventListener("DOMContentLoaded", () => {
  const element = document.getElementById("api-viewer");
  window.SwaggerUIBundle({
    url: element.dataset.spec,
    domNode: element,
    deepLinking: true,
    // Over a hundred operations: the sections start closed, a list of the API's parts,
    // and each opens to its operations.
    docExpansion: "none",
    validatorUrl: null,
    withCredentials: true,
    // Writes with the session cookie carry the page's CSRF token, as the pages do.
    requestInterceptor: (request) => {
      request.headers["X-CSRFToken"] = element.dataset.csrfToken;
      return request;
    },
    // Swagger UI's server list has no label of its own; a screen reader names it.
    onComplete: () => {
      const servers = document.getElementById("servers");
      if (servers) servers.setAttribute("aria-label", "Server");
    },
  });
});
