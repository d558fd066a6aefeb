from odoo import fields, models


class CustomerPointConsumption(models.Model):
    """Which line's points another line took: redemptions, expiries and
    reversals take points from earned or adjusted lines, the ones that expire
    first first. Written by the ledger's bookkeeping only."""

    _name = "customer.point.consumption"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Points Taken From a Ledger Line"
    _order = "id"
    _log_access = False

    source_entry_id = fields.Many2one(
        "customer.point.entry",
        string="Taken From",
        required=True,
        index=True,
        ondelete="cascade",
    )
    consumer_entry_id = fields.Many2one(
        "customer.point.entry",
        string="Taken By",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="source_entry_id.company_id")
    source_expiry_date = fields.Date(
        related="source_entry_id.expiry_date", string="Valid Until"
    )
    points = fields.Integer(
        string="Points", required=True, help="Negative when points were given back."
    )
