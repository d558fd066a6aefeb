import { registry } from "@web/core/registry";

// A salesperson opens a quotation, looks at the products recommended for the
// customer and adds one in a click. The quotation, the customer and the
// recommendation are made by the Python test that runs this tour
// (test_tour.py).
registry.category("web_tour.tours").add("repeat_customer_add_recommendation", {
    steps: () => [
        {
            content: "Open the Recommended tab of the quotation",
            trigger: ".o_form_view .o_notebook a[name='loyalty_recommendations']",
            run: "click",
        },
        {
            content: "The recommended product is listed with why",
            trigger:
                ".o_field_widget[name='loyalty_recommendation_ids'] .o_data_row:contains('Tour Jasmine Tea'):contains('Bought Together')",
        },
        {
            content: "Add it to the quotation",
            trigger:
                ".o_field_widget[name='loyalty_recommendation_ids'] .o_data_row:contains('Tour Jasmine Tea') button[name='action_add_to_order']",
            run: "click",
        },
        {
            content: "Back to the order lines",
            trigger: ".o_form_view .o_notebook a[name='order_lines']",
            run: "click",
        },
        {
            content: "The product is on the quotation",
            trigger: ".o_field_widget[name='order_line'] .o_data_row:contains('Tour Jasmine Tea')",
        },
    ],
});
