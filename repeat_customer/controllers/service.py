from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

from .portal import record_id

REQUESTS_PER_PAGE = 20
MAX_SUBJECT = 200
MAX_DESCRIPTION = 10000


class ServicePortal(CustomerPortal):
    """``/my/requests``: the customer's own service requests, read with the
    portal user's rights (the record rule keeps them to their own
    company's customer), and a form to open one, created as superuser from
    checked values only."""

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "service_request_count" in counters:
            # the entry is shown to every customer, to open a first request
            Request = request.env["customer.service.request"]
            values["service_request_count"] = (
                Request.search_count(self._service_domain()) + 1
                if Request.has_access("read")
                else 0
            )
        return values

    def _service_partner(self):
        return request.env.user.partner_id.commercial_partner_id

    def _service_domain(self):
        return [("commercial_partner_id", "=", self._service_partner().id)]

    @http.route(
        ["/my/requests", "/my/requests/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_requests(self, page=1, **kw):
        Request = request.env["customer.service.request"]
        if not Request.has_access("read"):
            return request.redirect("/my")
        total = Request.search_count(self._service_domain())
        pager = portal_pager(
            url="/my/requests",
            total=total,
            page=page,
            step=REQUESTS_PER_PAGE,
        )
        requests = Request.search(
            self._service_domain(),
            order="id desc",
            limit=REQUESTS_PER_PAGE,
            offset=pager["offset"],
        )
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "service_requests",
                "service_requests": requests,
                "pager": pager,
                "default_url": "/my/requests",
            }
        )
        return request.render("repeat_customer.portal_my_requests", values)

    def _service_form_choices(self):
        partner = self._service_partner()
        company = request.env.company
        types = (
            request.env["customer.service.type"]
            .sudo()
            .search(
                [
                    ("portal_visible", "=", True),
                    ("company_id", "in", [False, company.id]),
                ]
            )
        )
        orders = (
            request.env["sale.order"]
            .sudo()
            .search(
                [
                    ("partner_id", "child_of", partner.id),
                    ("company_id", "=", company.id),
                    ("state", "=", "sale"),
                ],
                order="date_order desc",
                limit=50,
            )
        )
        return types, orders

    @staticmethod
    def _service_lines(orders):
        """The product lines of ``orders`` (the customer's) a request can be
        about: no note, section, reward, points-discount or down payment."""
        return orders.order_line.filtered(
            lambda line: (
                line.product_id
                and not line.display_type
                and not line.reward_id
                and not line.loyalty_point_entry_id
                and not line.is_downpayment
            )
        )

    @classmethod
    def _service_products(cls, orders):
        """The products on ``orders``, to choose from."""
        return cls._service_lines(orders).product_id

    @classmethod
    def _service_product_orders(cls, orders):
        """{product id: "order ids"}: the form offers a product only with
        the orders that have it (``data-order-ids``)."""
        by_product = {}
        for line in cls._service_lines(orders):
            by_product.setdefault(line.product_id.id, set()).add(line.order_id.id)
        return {
            product: " ".join(str(order) for order in sorted(order_ids))
            for product, order_ids in by_product.items()
        }

    @http.route(
        "/my/requests/new", type="http", auth="user", methods=["GET"], website=True
    )
    def portal_new_request(self, **kw):
        return self._render_request_form({}, None)

    def _render_request_form(self, form, error):
        types, orders = self._service_form_choices()
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "service_request_new",
                "service_types": types,
                "service_orders": orders,
                "service_products": self._service_products(orders),
                "service_product_orders": self._service_product_orders(orders),
                "form": form,
                "error": error,
            }
        )
        return request.render("repeat_customer.portal_new_request", values)

    @http.route(
        "/my/requests/new", type="http", auth="user", methods=["POST"], website=True
    )
    def portal_create_request(self, **post):
        """Open a request from the form (the framework checks the CSRF
        token): the type must be offered to customers, the order must be
        the customer's own confirmed order of this company, the product one
        on that order (or on one of their orders); another product is
        ignored."""
        types, orders = self._service_form_choices()
        subject = _text(post.get("name"))
        description = _text(post.get("description"))
        service_type = types.filtered(lambda t: t.id == record_id(post.get("type_id")))
        order = orders.browse()
        if post.get("order_id"):
            order = orders.filtered(lambda o: o.id == record_id(post.get("order_id")))
        error = None
        if not subject:
            error = request.env._("Say in a few words what it is about.")
        elif len(subject) > MAX_SUBJECT or len(description) > MAX_DESCRIPTION:
            error = request.env._("The text is too long.")
        elif not service_type:
            error = request.env._("Choose what kind of request it is.")
        elif post.get("order_id") and not order:
            error = request.env._("This order is not one of yours.")
        if error:
            return self._render_request_form(post, error)
        # a product of the chosen order, or of any of the customer's orders
        product = self._service_products(order or orders).filtered(
            lambda p: p.id == record_id(post.get("product_id"))
        )
        new = (
            request.env["customer.service.request"]
            .sudo()
            .create(
                {
                    "name": subject,
                    "description": description or False,
                    "company_id": request.env.company.id,
                    "partner_id": request.env.user.partner_id.id,
                    "type_id": service_type.id,
                    "order_id": order.id or False,
                    "product_id": product[:1].id or False,
                    "channel": "portal",
                }
            )
        )
        return request.redirect(f"/my/requests/{new.id}?created=1")

    @http.route(
        "/my/requests/<int:request_id>", type="http", auth="public", website=True
    )
    def portal_my_request(self, request_id, access_token=None, created=None, **kw):
        try:
            request_sudo = self._document_check_access(
                "customer.service.request", request_id, access_token=access_token
            )
        except (AccessError, MissingError):
            return request.redirect("/my")
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "service_request",
                "service_request": request_sudo,
                "created": bool(created),
            }
        )
        values = self._get_page_view_values(
            request_sudo, access_token, values, "my_service_requests_history", False
        )
        return request.render("repeat_customer.portal_my_request", values)


def _text(value):
    """A visitor's text as stored: without NUL bytes (which PostgreSQL
    cannot store) and the spaces around it."""
    return (value if isinstance(value, str) else "").replace("\x00", "").strip()
