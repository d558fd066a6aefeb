import { registry } from "@web/core/registry";

// A portal customer opens the request form and chooses an order: only the
// products of that order are offered. The orders are made by the Python
// test that runs this tour (test_service.py): the newest has a teapot and a
// kettle, the older one the kettle alone.
function chooseOrder(position) {
    const orders = document.querySelector("form.o_service_form select[name='order_id']");
    orders.selectedIndex = position;
    orders.dispatchEvent(new Event("change", { bubbles: true }));
}

function offered(name) {
    const options = document.querySelectorAll(
        "form.o_service_form select[name='product_id'] option"
    );
    const option = [...options].find((o) => o.textContent.includes(name));
    return Boolean(option) && !option.hidden && !option.disabled;
}

registry.category("web_tour.tours").add("repeat_customer_service_request_products", {
    steps: () => [
        {
            content: "Every product of the customer's orders, no order chosen",
            trigger: "form.o_service_form select[name='product_id']",
            run() {
                if (!offered("Tour Teapot") || !offered("Tour Kettle")) {
                    throw new Error("both products are offered without an order");
                }
                chooseOrder(2);
                if (offered("Tour Teapot") || !offered("Tour Kettle")) {
                    throw new Error("the older order offers its kettle alone");
                }
                chooseOrder(1);
                if (!offered("Tour Teapot") || !offered("Tour Kettle")) {
                    throw new Error("the newest order offers both");
                }
                document.body.classList.add("o_service_tour_done");
            },
        },
        {
            content: "The checks ran",
            trigger: "body.o_service_tour_done",
        },
    ],
});
