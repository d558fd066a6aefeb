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
    loyalty_points_enabled = fields.Boolean(
        related="company_id.loyalty_points_enabled", readonly=False
    )
    loyalty_points_per_unit = fields.Float(
        related="company_id.loyalty_points_per_unit", readonly=False
    )
    loyalty_points_rounding = fields.Selection(
        related="company_id.loyalty_points_rounding", readonly=False
    )
    loyalty_points_excluded_product_ids = fields.Many2many(
        related="company_id.loyalty_points_excluded_product_ids", readonly=False
    )
    loyalty_points_excluded_categ_ids = fields.Many2many(
        related="company_id.loyalty_points_excluded_categ_ids", readonly=False
    )
    loyalty_points_release = fields.Selection(
        related="company_id.loyalty_points_release", readonly=False
    )
    loyalty_points_pending_days = fields.Integer(
        related="company_id.loyalty_points_pending_days", readonly=False
    )
    loyalty_points_expiry_policy = fields.Selection(
        related="company_id.loyalty_points_expiry_policy", readonly=False
    )
    loyalty_points_expiry_months = fields.Integer(
        related="company_id.loyalty_points_expiry_months", readonly=False
    )
    loyalty_points_expiry_years = fields.Integer(
        related="company_id.loyalty_points_expiry_years", readonly=False
    )
    loyalty_points_expiry_warning_days = fields.Integer(
        related="company_id.loyalty_points_expiry_warning_days", readonly=False
    )
    loyalty_point_value = fields.Monetary(
        related="company_id.loyalty_point_value",
        readonly=False,
        currency_field="currency_id",
    )
    loyalty_points_max_redeem_percent = fields.Float(
        related="company_id.loyalty_points_max_redeem_percent", readonly=False
    )
    loyalty_tier_rule = fields.Selection(
        related="company_id.loyalty_tier_rule", readonly=False
    )
    loyalty_tier_window_days = fields.Integer(
        related="company_id.loyalty_tier_window_days", readonly=False
    )
