// Draws the /api/v1 reference from the OpenAPI document named on #swagger-ui (no inline script: CSP).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: false,  // a link inside each operation's button would nest one control in another (axe)
    validatorUrl: null,  // never ask an online validator: the page works offline
    tryItOutEnabled: false,
  });
});
