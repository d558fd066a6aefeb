from odoo import models


class AccountMove(models.Model):
    _inherit = "account.move"

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        credit_notes = posted.filtered(lambda move: move.move_type == "out_refund")
        if credit_notes:
            self.env["sale.order"]._loyalty_reverse_for_credit_notes(credit_notes)
        return posted
