import { registry } from "@web/core/registry";

// A manager opens the Loyalty Overview and drills into its figures: the
// members card opens the members behind it, and a cohort cell its rows.
// The customers are made by the Python test that runs this tour
// (test_overview.py).
registry.category("web_tour.tours").add("repeat_customer_loyalty_overview", {
    steps: () => [
        {
            content: "The overview shows the members",
            trigger: ".o_loyalty_overview .o_kpi_members:contains('3')",
        },
        {
            content: "The cohort heatmap shows the January cohort",
            trigger: ".o_overview_cohorts .o_cohort_cell",
        },
        {
            content: "Filter on a period",
            trigger: ".o_overview_period",
            run: "select 24",
        },
        {
            content: "Open the members behind the card",
            trigger: ".o_loyalty_overview .o_kpi_members",
            run: "click",
        },
        {
            content: "Their list opens",
            trigger: ".o_list_view .o_data_row:contains('Overview Ann')",
        },
        {
            content: "Back to the overview",
            trigger: ".o_breadcrumb .o_back_button a, .o_breadcrumb li.breadcrumb-item a",
            run: "click",
        },
        {
            content: "Open an R × F cell",
            trigger: ".o_overview_rf .o_rf_cell:contains('1')",
            run: "click",
        },
        {
            content: "Its members open",
            trigger: ".o_list_view .o_data_row",
        },
        {
            content: "Back to the overview",
            trigger: ".o_breadcrumb .o_back_button a, .o_breadcrumb li.breadcrumb-item a",
            run: "click",
        },
        {
            content: "The service cards: one open request",
            trigger: ".o_loyalty_overview .o_kpi_requests:contains('1')",
            run: "click",
        },
        {
            content: "The open request is listed",
            trigger: ".o_list_view .o_data_row:contains('Overview cup broken')",
        },
    ],
});
