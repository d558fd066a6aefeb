/** @odoo-module **/

import publicWidget from "@web/legacy/js/public/public_widget";

/**
 * The portal's redeem dialog: once submitted, its button is disabled, so a
 * double click sends one request (the server also redeems a form only once).
 */
publicWidget.registry.LoyaltyRedeemForm = publicWidget.Widget.extend({
    selector: ".o_loyalty_redeem_form",
    events: {
        submit: "_onSubmit",
    },

    _onSubmit(ev) {
        if (this.submitted) {
            ev.preventDefault();
            return;
        }
        this.submitted = true;
        for (const button of this.el.querySelectorAll("button[type='submit']")) {
            button.disabled = true;
            button.classList.add("disabled");
        }
    },
});
