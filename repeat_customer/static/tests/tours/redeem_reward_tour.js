import { registry } from "@web/core/registry";

// A salesperson redeems a customer's points for a coupon from the quotation:
// in two steps (choose, redeem) the coupon's discount is on the quotation,
// no code to copy.
// The quotation, the customer's points and the reward are made by the Python
// test that runs this tour (test_tour.py).
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
            content: "The reward is applied: the wizard closes on a notification",
            trigger: ".o_notification:contains('applied to')",
        },
        {
            content: "The discount line of the coupon is on the quotation",
            trigger: ".o_field_widget[name='order_line'] .o_data_row:contains('Tour voucher')",
        },
        {
            content: "Its balance line shows the points left",
            trigger: ".o_form_view .o_field_widget[name='loyalty_points_balance']:contains('300')",
        },
    ],
});
