import math

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ._common import whole_number


class CustomerPointRedeemWizard(models.TransientModel):
    _name = "customer.point.redeem.wizard"
    _description = "Redeem Loyalty Points on a Quotation"

    order_id = fields.Many2one(
        "sale.order", string="Quotation", required=True, readonly=True
    )
    company_id = fields.Many2one(related="order_id.company_id")
    partner_id = fields.Many2one(related="order_id.partner_id")
    currency_id = fields.Many2one(related="order_id.currency_id")
    company_currency_id = fields.Many2one(
        related="company_id.currency_id", string="Company Currency"
    )
    membership_id = fields.Many2one(
        "customer.membership",
        string="Membership",
        compute="_compute_points",
        compute_sudo=True,
    )
    points_available = fields.Integer(
        string="Points Available", compute="_compute_points", compute_sudo=True
    )
    points_max = fields.Integer(
        string="At Most",
        compute="_compute_points",
        compute_sudo=True,
        help="The available points, capped at the programme's maximum share of "
        "the order.",
    )
    point_value = fields.Monetary(
        related="company_id.loyalty_point_value",
        currency_field="company_currency_id",
    )
    points = fields.Integer(string="Points to Redeem", required=True)
    amount = fields.Monetary(
        string="Discount",
        compute="_compute_amount",
        currency_field="currency_id",
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            whole_number(self.env, vals, "points", self.env._("Points to redeem"))
        return super().create(vals_list)

    def _order_gross_company(self):
        """Untaxed amount of the order without its points discounts, in company
        currency."""
        order = self.order_id
        lines = order.order_line.filtered(
            lambda line: not line.display_type and not line.loyalty_point_entry_id
        )
        return sum(lines.mapped("price_subtotal")) / (order.currency_rate or 1.0)

    @api.depends("order_id", "order_id.order_line.price_subtotal")
    def _compute_points(self):
        entries = self.env["customer.point.entry"]
        for wizard in self:
            order = wizard.order_id
            membership = order._loyalty_memberships().get(order.id) if order else None
            wizard.membership_id = membership
            if not membership:
                wizard.points_available = wizard.points_max = 0
                continue
            available = entries._ledger_balances(membership.ids)[membership.id][0]
            company = order.company_id
            value = company.loyalty_point_value
            already = sum(
                -line.loyalty_point_entry_id.points
                for line in order.order_line.filtered("loyalty_point_entry_id")
            )
            cap_amount = (
                wizard._order_gross_company()
                * company.loyalty_points_max_redeem_percent
                / 100.0
            )
            cap = math.floor(cap_amount / value + 1e-9) - already if value > 0 else 0
            wizard.points_available = available
            wizard.points_max = max(min(available, cap), 0)

    @api.depends("points", "order_id")
    def _compute_amount(self):
        for wizard in self:
            wizard.amount = wizard._points_amount(wizard.points)

    def _points_amount(self, points):
        """Value of ``points`` in the order's currency."""
        order = self.order_id
        if not order:
            return 0.0
        value_company = points * order.company_id.loyalty_point_value
        return order.currency_id.round(value_company * (order.currency_rate or 1.0))

    def action_redeem(self):
        self.ensure_one()
        order = self.order_id
        company = order.company_id
        membership = self.membership_id
        if order.state not in ("draft", "sent"):
            raise UserError(self.env._("Points can only be redeemed on a quotation."))
        if not company.loyalty_points_enabled:
            raise UserError(
                self.env._(
                    "Loyalty points are not enabled for %(company)s.",
                    company=company.name,
                )
            )
        if not membership:
            raise UserError(
                self.env._(
                    "%(customer)s is not a member of the loyalty programme.",
                    customer=order.partner_id.display_name,
                )
            )
        if membership.state != "active":
            raise UserError(
                self.env._(
                    "The membership of %(customer)s is blocked.",
                    customer=order.partner_id.display_name,
                )
            )
        if company.loyalty_point_value <= 0:
            raise UserError(
                self.env._("Set the value of one point in the loyalty settings.")
            )
        if self.points <= 0:
            raise UserError(self.env._("The points to redeem must be above 0."))
        if self.points > self.points_max and self.points <= self.points_available:
            raise UserError(
                self.env._(
                    "At most %(max)s points can be redeemed on this order "
                    "(%(percent)s %% of its amount).",
                    max=self.points_max,
                    percent=company.loyalty_points_max_redeem_percent,
                )
            )
        # the ledger checks the balance again under a lock: that check is the
        # one that holds when two users redeem at the same moment
        entry = self.env["customer.point.entry"]._post_redemption(
            membership, self.points, order=order
        )
        product = self.env.ref("repeat_customer.product_points_discount")
        order.write(
            {
                "order_line": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "name": self.env._(
                                "Loyalty points: %(points)s points",
                                points=self.points,
                            ),
                            "product_uom_qty": 1.0,
                            "price_unit": -self._points_amount(self.points),
                            "tax_id": [Command.clear()],
                            "loyalty_point_entry_id": entry.id,
                            "sequence": 10000,
                        }
                    )
                ]
            }
        )
        return {"type": "ir.actions.act_window_close"}
