/* Organizer pages: refresh the rotating check-in QR; tick every name on a roster.
   Served from /static (the CSP allows no inline script). */
(function () {
  "use strict";

  var box = document.querySelector("[data-checkin-url]");
  if (box && window.fetch) {
    var image = box.querySelector("[data-qr]");
    var code = box.querySelector("[data-typed]");
    var refresh = function () {
      fetch(box.getAttribute("data-checkin-url"), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (!data) return;
          if (image) image.src = data.qr;
          if (code) code.textContent = data.typed;
        })
        .catch(function () {
          /* offline for a moment: the code on screen stays valid for another minute */
        });
    };
    window.setInterval(refresh, 15000);
  }

  document.querySelectorAll("[data-select-all]").forEach(function (master) {
    master.addEventListener("change", function () {
      var name = master.getAttribute("data-select-all");
      var form = master.closest("form");
      form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
        box.checked = master.checked;
      });
    });
  });
})();
