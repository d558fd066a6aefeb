from odoo import fields, models


class CustomerRfmSnapshot(models.Model):
    _name = "customer.rfm.snapshot"
    _inherit = ["customer.values.mixin"]
    _description = "RFM Snapshot"
    _order = "snapshot_date desc, id desc"
    _rec_name = "membership_id"
    _check_company_auto = True
    # written set-wise by the nightly job, never edited: no per-row audit columns
    _log_access = False

    membership_id = fields.Many2one(
        "customer.membership",
        string="Membership",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one("res.company", string="Company", required=True)
    partner_id = fields.Many2one(related="membership_id.partner_id", string="Customer")
    user_id = fields.Many2one(
        related="membership_id.user_id", string="Salesperson", store=False
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    snapshot_date = fields.Date(string="Date", required=True, index=True)
    recency_days = fields.Integer(string="Days Since Last Purchase", aggregator="avg")
    frequency = fields.Integer(string="Orders in Window", aggregator="avg")
    monetary = fields.Monetary(string="Spent in Window", aggregator="avg")
    recency_score = fields.Integer(string="R Score", aggregator="avg")
    frequency_score = fields.Integer(string="F Score", aggregator="avg")
    monetary_score = fields.Integer(string="M Score", aggregator="avg")
    rfm_score = fields.Char(string="RFM")
    segment_id = fields.Many2one("customer.segment", string="Segment")
    previous_segment_id = fields.Many2one(
        "customer.segment",
        string="Previous Segment",
        help="The segment of the member's previous snapshot.",
    )
    has_segment_changed = fields.Boolean(
        string="Segment Changed",
        help="The segment differs from the one of the previous snapshot.",
    )
    churn_probability = fields.Float(
        string="Churn Probability", digits=(3, 3), aggregator="avg"
    )
    churn_risk = fields.Selection(
        selection=[("low", "Low"), ("medium", "Medium"), ("high", "High")],
        string="Churn Risk",
    )

    _sql_constraints = [
        (
            "membership_date_uniq",
            "unique(membership_id, snapshot_date)",
            "A member has one RFM snapshot per day.",
        ),
    ]
