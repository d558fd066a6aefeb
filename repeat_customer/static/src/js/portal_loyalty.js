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

/**
 * The portal's request form: once an order is chosen, only the products of
 * that order are offered (the server refuses any other).
 */
publicWidget.registry.ServiceRequestForm = publicWidget.Widget.extend({
    selector: ".o_service_form",
    events: {
        "change select[name='order_id']": "_onOrderChange",
    },

    start() {
        this._onOrderChange();
        return this._super(...arguments);
    },

    _onOrderChange() {
        const orderSelect = this.el.querySelector("select[name='order_id']");
        const productSelect = this.el.querySelector("select[name='product_id']");
        if (!orderSelect || !productSelect) {
            return;
        }
        const order = orderSelect.value;
        for (const option of productSelect.options) {
            if (!option.value) {
                continue;
            }
            const orders = (option.dataset.orderIds || "").split(" ");
            const offered = !order || orders.includes(order);
            option.hidden = !offered;
            option.disabled = !offered;
            if (!offered && option.selected) {
                productSelect.value = "";
            }
        }
    },
});
