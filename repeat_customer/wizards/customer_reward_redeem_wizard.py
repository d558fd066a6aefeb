from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools.numbers import one_record


class CustomerRewardRedeemWizard(models.TransientModel):
    _name = "customer.reward.redeem.wizard"
    _inherit = ["customer.values.mixin"]
    _description = "Redeem a Loyalty Reward"

    membership_id = fields.Many2one(
        "customer.membership",
        string="Membership",
        compute="_compute_membership_id",
        store=True,
        readonly=False,
    )
    order_id = fields.Many2one("sale.order", string="Quotation", readonly=True)
    company_id = fields.Many2one(related="membership_id.company_id")
    partner_id = fields.Many2one(related="membership_id.partner_id")
    points_available = fields.Integer(
        string="Points Available", compute="_compute_points_available"
    )
    reward_id = fields.Many2one(
        "customer.reward",
        string="Reward",
        domain="[('company_id', '=', company_id), ('points_cost', '>', 0)]",
    )
    reward_type = fields.Selection(related="reward_id.reward_type")
    points_cost = fields.Integer(related="reward_id.points_cost")
    reward_description = fields.Text(related="reward_id.description")
    unavailable_reason = fields.Char(
        string="Not Available", compute="_compute_unavailable_reason"
    )
    coupon_id = fields.Many2one("customer.coupon", string="Coupon", readonly=True)
    coupon_code = fields.Char(related="coupon_id.code", string="Coupon Code")
    coupon_expiration_date = fields.Date(related="coupon_id.expiration_date")
    not_applied_reason = fields.Char(
        string="Not Applied",
        readonly=True,
        help="Why the coupon bought for the quotation could not go on it "
        "(it stays with the customer).",
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_inputs(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_inputs(vals)
        return super().write(vals)

    def _check_inputs(self, vals):
        """The coupon (whose code the wizard shows) is set by the redemption
        only; that the user may read what they pass in is the value guard's
        (``customer.values.mixin``)."""
        if (
            vals.get("coupon_id") or vals.get("not_applied_reason")
        ) and not self.env.su:
            raise AccessError(
                self.env._("The coupon of a redemption is set by the redemption.")
            )

    @api.depends("order_id")
    def _compute_membership_id(self):
        for wizard in self:
            if wizard.order_id:
                order = wizard.order_id
                wizard.membership_id = order._loyalty_memberships().get(order.id)

    @api.depends("membership_id")
    def _compute_points_available(self):
        """The member's balance, for a member the user may read only (the
        web client's ``onchange`` computes it for any id it is given)."""
        for wizard in self:
            membership = wizard.membership_id
            readable = membership and membership.sudo(False).has_access("read")
            wizard.points_available = membership.points_balance if readable else 0

    @api.depends("reward_id", "membership_id")
    def _compute_unavailable_reason(self):
        for wizard in self:
            wizard.unavailable_reason = (
                wizard.reward_id._unavailable_reason(wizard.membership_id)
                if wizard.reward_id and wizard.membership_id
                else False
            )

    def action_redeem(self):
        one_record(self)
        if self.coupon_id:
            raise UserError(self.env._("This reward was already redeemed."))
        if not self.membership_id:
            raise UserError(
                self.env._("The customer is not a member of the loyalty programme.")
            )
        if not self.reward_id:
            raise UserError(self.env._("Choose the reward to redeem."))
        # the redemption itself runs as superuser: the user must be allowed to
        # see this member (a salesperson: their own customers) and the order
        self.membership_id.check_access("read")
        if self.order_id:
            self.order_id.check_access("write")
        coupon = self.reward_id._redeem(self.membership_id, order=self.order_id)
        if not coupon:
            return {"type": "ir.actions.act_window_close"}
        # sudo: the coupon field is closed to users (see _check_inputs)
        self.sudo().coupon_id = coupon
        if self.order_id:
            # bought for this quotation: it goes on it at once, as Odoo's
            # Coupon Code then Reward would put it
            reason = self.order_id._loyalty_apply_coupon(
                coupon.card_id.with_env(self.env)
            )
            if not reason:
                return {
                    "type": "ir.actions.client",
                    "tag": "display_notification",
                    "params": {
                        "type": "success",
                        "message": self.env._(
                            "%(reward)s applied to %(order)s (coupon %(code)s).",
                            reward=self.reward_id.name,
                            order=self.order_id.name,
                            code=coupon.code,
                        ),
                        "next": {"type": "ir.actions.act_window_close"},
                    },
                }
            self.sudo().not_applied_reason = reason
        # show the code: the salesperson gives it to the customer (or
        # applies it later with Odoo's Reward button)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Coupon Issued"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }
