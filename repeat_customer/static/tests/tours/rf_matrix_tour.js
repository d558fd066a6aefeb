import { registry } from "@web/core/registry";

// A manager opens the R × F Matrix report: recency 5 on top, totals, and a
// cell opens its members. The customers are made by the Python test that
// runs this tour (test_overview.py).
registry.category("web_tour.tours").add("repeat_customer_rf_matrix", {
    steps: () => [
        {
            content: "The matrix has recency 5 on top",
            trigger: ".o_rf_matrix_table tbody tr:first-child th:contains('R5')",
        },
        {
            content: "Its total counts every scored member",
            trigger: ".o_rf_matrix_table tfoot td:last-child:contains('3')",
        },
        {
            content: "Open a filled cell",
            trigger: ".o_rf_matrix_table .o_rf_cell:contains('%')",
            run: "click",
        },
        {
            content: "Its members open",
            trigger: ".o_list_view .o_data_row",
        },
    ],
});
