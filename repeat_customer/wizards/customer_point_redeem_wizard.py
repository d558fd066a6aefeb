from odoo import api, fields, models

from ..tools.numbers import one_record
from ._common import whole_number


class CustomerPointRedeemWizard(models.TransientModel):
    _name = "customer.point.redeem.wizard"
    _inherit = ["customer.values.mixin"]
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
    points = fields.Integer(
        string="Points to Redeem",
        required=True,
        compute="_compute_points_to_redeem",
        store=True,
        readonly=False,
        precompute=True,
        help="Opens at the most the member may use on this order.",
    )
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

    def write(self, vals):
        whole_number(self.env, vals, "points", self.env._("Points to redeem"))
        return super().write(vals)

    @api.depends("order_id", "order_id.order_line.price_subtotal")
    def _compute_points(self):
        entries = self.env["customer.point.entry"]
        for wizard in self:
            order = wizard.order_id
            membership = order._loyalty_memberships().get(order.id) if order else None
            # computed as superuser: figures of a member the user may read only
            if membership and not membership.sudo(False).has_access("read"):
                membership = None
            wizard.membership_id = membership
            if not membership:
                wizard.points_available = wizard.points_max = 0
                continue
            available = entries._ledger_balances(membership.ids)[membership.id][0]
            wizard.points_available = available
            wizard.points_max = max(min(available, order._loyalty_points_room()), 0)

    @api.depends("points_max")
    def _compute_points_to_redeem(self):
        for wizard in self:
            wizard.points = wizard.points_max

    @api.depends("points", "order_id")
    def _compute_amount(self):
        for wizard in self:
            wizard.amount = (
                wizard.order_id._loyalty_points_amount(wizard.points)
                if wizard.order_id
                else 0.0
            )

    def action_redeem(self):
        one_record(self)
        # the user must be allowed to change the quotation the points pay for
        self.order_id.check_access("write")
        self.order_id._loyalty_redeem_points(self.points)
        return {"type": "ir.actions.act_window_close"}
