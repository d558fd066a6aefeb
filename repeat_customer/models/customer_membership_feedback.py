"""A member's satisfaction surveys and service requests, from the member's
form."""

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

    service_request_count = fields.Integer(
        string="Service Requests", compute="_compute_service_request_count"
    )

    def _compute_service_request_count(self):
        counts = dict(
            self.env["customer.service.request"]._read_group(
                [("membership_id", "in", self.ids)], ["membership_id"], ["__count"]
            )
        )
        for membership in self:
            membership.service_request_count = counts.get(membership, 0)

    def action_view_service_requests(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_service_request_action"
        )
        action["domain"] = [("membership_id", "=", self.id)]
        action["context"] = {
            "default_partner_id": self.partner_id.id,
            "default_company_id": self.company_id.id,
        }
        return action

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
