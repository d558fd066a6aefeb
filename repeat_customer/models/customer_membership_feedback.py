"""A member's satisfaction surveys, from the member's form."""

from odoo import fields, models

from ..tools.numbers import one_record


class CustomerMembership(models.Model):
    _inherit = "customer.membership"

    feedback_ids = fields.One2many(
        "customer.feedback", "membership_id", string="Satisfaction Surveys"
    )
    feedback_count = fields.Integer(
        string="Answered Surveys", compute="_compute_feedback_count"
    )

    def _compute_feedback_count(self):
        counts = dict(
            self.env["customer.feedback"]._read_group(
                [("membership_id", "in", self.ids), ("state", "=", "answered")],
                ["membership_id"],
                ["__count"],
            )
        )
        for membership in self:
            membership.feedback_count = counts.get(membership, 0)

    def action_view_feedback(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_feedback_action"
        )
        action["domain"] = [("membership_id", "=", self.id)]
        action["context"] = {}
        return action
