import { registry } from "@web/core/registry";

// A salesperson redeems a customer's points for a coupon from the quotation,
// then applies that coupon with the standard "Coupon Code" flow of Odoo.
// The quotation, the customer's points and the reward are made by the Python
// test that runs this tour (test_tour.py).
let couponCode = "";

registry.category("web_tour.tours").add("repeat_customer_redeem_reward", {
    steps: () => [
        {
            content: "Open the reward wizard from the quotation",
            trigger: ".o_form_view button[name='action_loyalty_redeem_reward']",
            run: "click",
        },
        {
            content: "Choose the reward",
            trigger: ".modal .o_field_widget[name='reward_id'] input",
            run: "edit Tour voucher",
        },
        {
            content: "Pick it in the list",
            trigger: ".o-autocomplete--dropdown-menu a:contains('Tour voucher')",
            run: "click",
        },
        {
            content: "The reward's cost is shown",
            trigger: ".modal .o_field_widget[name='points_cost']:contains('200')",
        },
        {
            content: "Redeem",
            trigger: ".modal button[name='action_redeem']",
            run: "click",
        },
        {
            content: "Confirm that the points are spent",
            trigger: ".modal-footer button.btn-primary:contains('Ok')",
            run: "click",
        },
        {
            content: "Read the coupon code the wizard shows",
            trigger: ".modal .o_reward_coupon_code .o_field_widget[name='coupon_code'] span",
            run() {
                couponCode = this.anchor.textContent.trim();
                if (!/^RC[A-Z0-9]{16}$/.test(couponCode)) {
                    throw new Error(`Unexpected coupon code "${couponCode}"`);
                }
            },
        },
        {
            content: "Close the wizard",
            trigger: ".modal-footer button:contains('Close')",
            run: "click",
        },
        {
            content: "Open the standard coupon flow",
            trigger: ".o_form_view button:contains('Coupon Code')",
            run: "click",
        },
        {
            content: "Type the coupon code",
            trigger: ".modal .o_field_widget[name='coupon_code'] input",
            async run(helpers) {
                await helpers.edit(couponCode);
            },
        },
        {
            content: "Apply the code",
            trigger: ".modal button[name='action_apply']",
            run: "click",
        },
        {
            content: "Choose the coupon's reward",
            trigger: ".modal .o_field_widget[name='selected_reward_id'] input[type='radio']",
            run: "click",
        },
        {
            content: "Apply the reward",
            trigger: ".modal button[name='action_apply']",
            run: "click",
        },
        {
            content: "The discount line of the coupon is on the quotation",
            trigger: ".o_field_widget[name='order_line'] .o_data_row:contains('Tour voucher')",
        },
        {
            content: "Save the quotation",
            trigger: ".o_form_view .o_form_button_save, .o_form_view .o_form_status_indicator",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_view .o_form_saved, .o_form_view:not(:has(.o_form_button_save))",
        },
    ],
});
