// Paying the cash part of a perk by card (loaded after Stripe.js, only on pages that take a card).
//
// The perk page: Stripe's card Element collects the card (the number goes to Stripe, never
// to this service); the PaymentMethod id Stripe gives back goes into the form's hidden
// field and the form is sent. The voucher page: a payment waiting for the bank's
// confirmation is confirmed with Stripe.js, then the page asks the server how it ended.
// Every decision (the amount, the hold, the outcome) is the server's.
(function () {
  "use strict";

  function startStripe(box) {
    if (typeof window.Stripe !== "function") {
      return null;
    }
    return window.Stripe(box.dataset.stripeKey, { locale: box.dataset.locale });
  }

  function setUpCardForm(box) {
    var form = box.closest("form");
    var field = form.querySelector("[data-payment-method]");
    var button = form.querySelector("[data-card-submit]");
    var message = box.querySelector("[data-card-error]");
    var stripe = startStripe(box);
    if (!stripe) {
      message.textContent = box.dataset.cardUnavailable;
      return;
    }
    var card = stripe.elements().create("card", { hidePostalCode: true });
    card.mount(box.querySelector("[data-card-element]"));
    button.disabled = false;
    var sending = false;

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (sending) {
        return;
      }
      sending = true;
      button.setAttribute("aria-busy", "true");
      message.textContent = "";
      Promise.resolve(stripe.createPaymentMethod({ type: "card", card: card }))
        .catch(function () {
          return null;
        })
        .then(function (result) {
          if (result && result.paymentMethod && result.paymentMethod.id) {
            field.value = result.paymentMethod.id;
            form.submit();
            return;
          }
          message.textContent = (result && result.error && result.error.message) || box.dataset.cardProblem;
          sending = false;
          button.removeAttribute("aria-busy");
        });
    });
  }

  function setUpConfirmation(box) {
    var form = box.closest("form");
    var button = box.querySelector("[data-card-confirm]");
    var stripe = startStripe(box);
    if (!stripe) {
      return;
    }
    button.disabled = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      // Whatever the bank answered, the server reads the outcome from Stripe itself.
      Promise.resolve(stripe.confirmCardPayment(box.dataset.clientSecret))
        .catch(function () {
          return null;
        })
        .then(function () {
          form.submit();
        });
    });
  }

  document.querySelectorAll("[data-card-form]").forEach(setUpCardForm);
  document.querySelectorAll("[data-card-action]").forEach(setUpConfirmation);
})();
