from odoo import api, models


class CustomerMembership(models.Model):
    _inherit = "customer.membership"

    @api.model
    def _run_step(self, company, state):
        if state["step"] == "enrol":
            # the night's first step: old sync claims go
            self.env["pos.order"].sudo()._loyalty_forget_claims()
        return super()._run_step(company, state)
