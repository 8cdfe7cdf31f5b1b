// Starts the vendored Swagger UI on /docs. A file of its own because the Content-Security-
// Policy allows no inline script; the OpenAPI address comes from the page's data attribute.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // no call to the public validator: the page works offline and leaks nothing
    validatorUrl: null,
  });
});
