from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    loyalty_auto_enroll = fields.Boolean(
        related="company_id.loyalty_auto_enroll", readonly=False
    )
    loyalty_stats_source = fields.Selection(
        related="company_id.loyalty_stats_source", readonly=False
    )
    loyalty_rfm_window_days = fields.Integer(
        related="company_id.loyalty_rfm_window_days", readonly=False
    )
    loyalty_rfm_method = fields.Selection(
        related="company_id.loyalty_rfm_method", readonly=False
    )
    loyalty_rfm_recency_thresholds = fields.Char(
        related="company_id.loyalty_rfm_recency_thresholds", readonly=False
    )
    loyalty_rfm_frequency_thresholds = fields.Char(
        related="company_id.loyalty_rfm_frequency_thresholds", readonly=False
    )
    loyalty_rfm_monetary_thresholds = fields.Char(
        related="company_id.loyalty_rfm_monetary_thresholds", readonly=False
    )
    loyalty_churn_medium_threshold = fields.Float(
        related="company_id.loyalty_churn_medium_threshold", readonly=False
    )
    loyalty_churn_high_threshold = fields.Float(
        related="company_id.loyalty_churn_high_threshold", readonly=False
    )
    loyalty_last_compute_date = fields.Datetime(
        related="company_id.loyalty_last_compute_date"
    )
