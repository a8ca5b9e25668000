/* Starts Swagger UI (served by this site from the installed swagger-ui-bundle package)
   on this API's OpenAPI document. Requests made from the page send the CSRF token, so a
   logged-in browser session can try out writes; a bearer token works through "Authorize". */
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = meta ? meta.getAttribute("content") : "";
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    requestInterceptor: function (request) {
      if (request.method && request.method.toUpperCase() !== "GET" && csrfToken) {
        request.headers["X-CSRFToken"] = csrfToken;
      }
      return request;
    }
  });
});
