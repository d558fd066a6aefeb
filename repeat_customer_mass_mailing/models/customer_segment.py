from odoo import models

from odoo.addons.repeat_customer.tools.numbers import one_record


class CustomerSegment(models.Model):
    _inherit = "customer.segment"

    def action_send_mailing(self):
        """A new Email Marketing mailing to the active members of this segment
        in the current company who did not opt out."""
        one_record(self)
        model = self.env["ir.model"]._get("customer.membership")
        domain = [
            ("segment_id", "=", self.id),
            ("company_id", "=", self.env.company.id),
            ("state", "=", "active"),
            ("marketing_opt_out", "=", False),
        ]
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Mailing to %(segment)s", segment=self.name),
            "res_model": "mailing.mailing",
            "view_mode": "form",
            "target": "current",
            "context": {
                "default_mailing_type": "mail",
                "default_mailing_model_id": model.id,
                "default_mailing_domain": repr(domain),
                "default_subject": self.name,
            },
        }
