from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.numbers import one_record
from .customer_liability_move import BUCKET_SELECTION


class AccountMove(models.Model):
    _inherit = "account.move"

    loyalty_liability_move_id = fields.Many2one(
        "customer.liability.move",
        string="Points Liability Entry",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The day of the points ledger this entry posts.",
    )
    loyalty_entry_count = fields.Integer(
        string="Points Ledger Lines", compute="_compute_loyalty_entry_count"
    )

    def _compute_loyalty_entry_count(self):
        # sudo: the count of the ledger lines an entry sums, shown on it
        counts = dict(
            self.env["customer.point.entry"]
            .sudo()
            ._read_group(
                [("liability_move_id", "in", self.loyalty_liability_move_id.ids)],
                ["liability_move_id"],
                ["__count"],
            )
        )
        for move in self:
            move.loyalty_entry_count = counts.get(
                move.loyalty_liability_move_id.sudo(), 0
            )

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        credit_notes = posted.filtered(lambda move: move.move_type == "out_refund")
        if credit_notes:
            self.env["sale.order"]._loyalty_reverse_for_credit_notes(credit_notes)
        return posted

    @api.depends("loyalty_liability_move_id")
    def _compute_show_reset_to_draft_button(self):
        result = super()._compute_show_reset_to_draft_button()
        for move in self.filtered("loyalty_liability_move_id"):
            move.show_reset_to_draft_button = False
        return result

    def button_draft(self):
        if self.filtered("loyalty_liability_move_id"):
            raise UserError(
                self.env._(
                    "A points liability entry stays posted: the ledger it "
                    "sums cannot change. Corrections are posted by the next "
                    "daily entry."
                )
            )
        return super().button_draft()

    def action_open_loyalty_entries(self):
        """The ledger lines this entry sums, grouped by movement kind."""
        one_record(self)
        action = self.loyalty_liability_move_id.action_open_entries()
        action["context"] = {"group_by": ["liability_bucket"]}
        return action


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    loyalty_bucket = fields.Selection(
        selection=BUCKET_SELECTION,
        string="Points Movement",
        readonly=True,
        copy=False,
        help="On a points liability entry: the movement kind of the points "
        "ledger this line sums.",
    )

    def action_open_loyalty_entries(self):
        """The ledger lines this journal item sums."""
        one_record(self)
        action = self.move_id.loyalty_liability_move_id.action_open_entries()
        action["domain"] += [("liability_bucket", "=", self.loyalty_bucket)]
        return action
