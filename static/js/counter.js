// The counter page (and the volunteer's reserve form): a scanner types a code and Enter
// into the focused input, so the scan input keeps the focus; each confirm form carries
// one request key, so a double click or a replayed form redeems once; a confirm form
// is sent at most once per page.
(function () {
  "use strict";

  var scan = document.querySelector("[data-scan-input]");
  var confirmForm = document.querySelector("[data-confirm-form]");

  function isTextEntry(element) {
    if (!element) {
      return false;
    }
    if (element.tagName === "TEXTAREA" || element.tagName === "SELECT") {
      return true;
    }
    return element.tagName === "INPUT" && ["text", "number", "search", "password"].indexOf(element.type) !== -1;
  }

  // The server renders a key into every confirm form; fill one in where it is missing.
  document.querySelectorAll("input[name=idempotency_key]").forEach(function (input) {
    if (!input.value && window.crypto && window.crypto.randomUUID) {
      input.value = window.crypto.randomUUID();
    }
  });

  if (scan) {
    scan.focus();
    // Keystrokes typed while a button or a perk choice has the focus belong to the scanner.
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1 || event.key === " ") {
        return;
      }
      if (!isTextEntry(document.activeElement)) {
        scan.focus();
      }
    });
    // Enter in the empty scan input confirms what is on the screen: the chosen perk or the voucher.
    scan.form.addEventListener("submit", function (event) {
      if (scan.value.trim() === "" && confirmForm && confirmForm.checkValidity()) {
        event.preventDefault();
        confirmForm.requestSubmit();
      }
    });
  }

  if (confirmForm) {
    // Enter on a perk choice confirms it.
    confirmForm.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target.type === "radio") {
        event.preventDefault();
        confirmForm.requestSubmit();
      }
    });
    confirmForm.addEventListener("submit", function (event) {
      if (confirmForm.dataset.sent) {
        event.preventDefault();
        return;
      }
      confirmForm.dataset.sent = "yes";
      confirmForm.querySelectorAll("[data-confirm]").forEach(function (button) {
        button.setAttribute("aria-busy", "true");
        button.classList.add("is-sending");
      });
    });
  }

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
