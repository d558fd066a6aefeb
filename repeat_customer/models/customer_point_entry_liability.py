from odoo import fields, models

from .customer_liability_move import BUCKET_SELECTION


class CustomerPointEntry(models.Model):
    """The link of a ledger line to the points liability entry that valued
    it: bookkeeping of the daily job, written in SQL like the line's points
    left; the line itself never changes."""

    _inherit = "customer.point.entry"

    liability_move_id = fields.Many2one(
        "customer.liability.move",
        string="Liability Entry",
        index="btree_not_null",
        readonly=True,
        copy=False,
        help="The daily points liability entry that posted this line.",
    )
    liability_journal_entry_id = fields.Many2one(
        related="liability_move_id.move_id", string="Journal Entry"
    )
    liability_bucket = fields.Selection(
        selection=BUCKET_SELECTION,
        string="Posted As",
        readonly=True,
        copy=False,
        help="The movement kind of the journal entry that sums this line.",
    )
    liability_amount = fields.Monetary(
        string="Valuation",
        readonly=True,
        copy=False,
        help="The change of the points liability this line made when it was "
        "posted: the deferred revenue (or provision) of points earned, the "
        "value taken back by a reversal, the line's share of the revenue "
        "recognised (or the provision used) for a redemption.",
    )

    def init(self):
        result = super().init()
        # the daily liability job links the lines no entry has posted yet
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS customer_point_entry_unposted_idx
                ON customer_point_entry (company_id, date)
             WHERE liability_move_id IS NULL
            """
        )
        return result
