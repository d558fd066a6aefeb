from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.numbers import format_number, one_record
from ._common import whole_number


class CustomerPointAdjustWizard(models.TransientModel):
    _name = "customer.point.adjust.wizard"
    _inherit = ["customer.values.mixin"]
    _description = "Adjust Loyalty Points"

    membership_id = fields.Many2one(
        "customer.membership", string="Member", required=True, readonly=True
    )
    points_balance = fields.Integer(related="membership_id.points_balance")
    points = fields.Integer(
        string="Points",
        required=True,
        help="Points to give (positive) or take (negative).",
    )
    reason = fields.Text(
        string="Reason",
        required=True,
        help="Why the balance is corrected; shown in the ledger and the chatter.",
    )
    expiry_date = fields.Date(
        string="Valid Until",
        help="For points given: the last day they can be spent. Empty: per the "
        "programme's expiry policy.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            whole_number(self.env, vals, "points", self.env._("Points"))
        return super().create(vals_list)

    def write(self, vals):
        whole_number(self.env, vals, "points", self.env._("Points"))
        return super().write(vals)

    def action_apply(self):
        one_record(self)
        if not self.env.user.has_group("repeat_customer.group_manager"):
            raise UserError(self.env._("Only loyalty managers can adjust points."))
        if not self.points:
            raise UserError(self.env._("Enter the points to give or take, not 0."))
        reason = (self.reason or "").strip()
        if not reason:
            raise UserError(self.env._("A points adjustment needs a reason."))
        today = self.membership_id.company_id._loyalty_today()
        if self.expiry_date and self.expiry_date < today:
            raise UserError(self.env._("The validity of the points is already over."))
        membership = self.membership_id
        entry = self.env["customer.point.entry"]._post_adjustment(
            membership, self.points, reason, expiry_date=self.expiry_date or None
        )
        signed_points = format_number(self.env, self.points, sign=True)
        membership.message_post(
            body=self.env._(
                "Points adjusted by %(points)s: %(reason)s",
                points=signed_points,
                reason=reason,
            ),
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        return entry
