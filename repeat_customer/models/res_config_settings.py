from odoo import api, fields, models

from ..tools.numbers import refuse_bad_values

# checked against each other: written to the company in one write, so that
# raising both in one save is not refused half-way
CHURN_FIELDS = ("loyalty_churn_medium_threshold", "loyalty_churn_high_threshold")
# the settings of the points liability, checked together
LIABILITY_FIELDS = (
    "loyalty_liability_enabled",
    "loyalty_liability_method",
    "loyalty_liability_journal_id",
    "loyalty_liability_frequency",
    "loyalty_liability_account_id",
    "loyalty_deferral_account_id",
    "loyalty_revenue_account_id",
    "loyalty_breakage_account_id",
    "loyalty_expense_account_id",
    "loyalty_opening_account_id",
    "loyalty_liability_start_date",
    "loyalty_redemption_rate",
)
TOGETHER_FIELDS = CHURN_FIELDS + LIABILITY_FIELDS


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
    loyalty_campaign_cap = fields.Integer(
        related="company_id.loyalty_campaign_cap", readonly=False
    )
    loyalty_campaign_cap_days = fields.Integer(
        related="company_id.loyalty_campaign_cap_days", readonly=False
    )
    loyalty_survey_validity_days = fields.Integer(
        related="company_id.loyalty_survey_validity_days", readonly=False
    )
    loyalty_survey_low_nps = fields.Integer(
        related="company_id.loyalty_survey_low_nps", readonly=False
    )
    loyalty_survey_low_csat = fields.Integer(
        related="company_id.loyalty_survey_low_csat", readonly=False
    )
    loyalty_service_user_id = fields.Many2one(
        related="company_id.loyalty_service_user_id", readonly=False
    )
    loyalty_survey_open_request = fields.Boolean(
        related="company_id.loyalty_survey_open_request", readonly=False
    )
    loyalty_service_max_points = fields.Integer(
        related="company_id.loyalty_service_max_points", readonly=False
    )
    loyalty_service_max_coupon = fields.Monetary(
        related="company_id.loyalty_service_max_coupon", readonly=False
    )
    loyalty_service_customer_points = fields.Integer(
        related="company_id.loyalty_service_customer_points", readonly=False
    )
    loyalty_service_customer_coupon = fields.Monetary(
        related="company_id.loyalty_service_customer_coupon", readonly=False
    )
    loyalty_service_limit_days = fields.Integer(
        related="company_id.loyalty_service_limit_days", readonly=False
    )
    loyalty_service_coupon_days = fields.Integer(
        related="company_id.loyalty_service_coupon_days", readonly=False
    )
    loyalty_service_calendar_id = fields.Many2one(
        related="company_id.resource_calendar_id",
        string="Working Hours",
        readonly=False,
        help="Response and resolution times of service requests are counted "
        "in these working hours, in the company's time zone.",
    )
    loyalty_quiet_hours_start = fields.Float(
        related="company_id.loyalty_quiet_hours_start", readonly=False
    )
    loyalty_quiet_hours_end = fields.Float(
        related="company_id.loyalty_quiet_hours_end", readonly=False
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

    loyalty_clv_months = fields.Integer(
        related="company_id.loyalty_clv_months", readonly=False
    )
    loyalty_clv_discount_rate = fields.Float(
        related="company_id.loyalty_clv_discount_rate", readonly=False
    )
    loyalty_repeat_days = fields.Integer(
        related="company_id.loyalty_repeat_days", readonly=False
    )
    loyalty_liability_enabled = fields.Boolean(
        related="company_id.loyalty_liability_enabled", readonly=False
    )
    loyalty_liability_method = fields.Selection(
        related="company_id.loyalty_liability_method", readonly=False
    )
    loyalty_liability_journal_id = fields.Many2one(
        related="company_id.loyalty_liability_journal_id", readonly=False
    )
    loyalty_liability_frequency = fields.Selection(
        related="company_id.loyalty_liability_frequency", readonly=False
    )
    loyalty_liability_account_id = fields.Many2one(
        related="company_id.loyalty_liability_account_id", readonly=False
    )
    loyalty_deferral_account_id = fields.Many2one(
        related="company_id.loyalty_deferral_account_id", readonly=False
    )
    loyalty_revenue_account_id = fields.Many2one(
        related="company_id.loyalty_revenue_account_id", readonly=False
    )
    loyalty_breakage_account_id = fields.Many2one(
        related="company_id.loyalty_breakage_account_id", readonly=False
    )
    loyalty_expense_account_id = fields.Many2one(
        related="company_id.loyalty_expense_account_id", readonly=False
    )
    loyalty_opening_account_id = fields.Many2one(
        related="company_id.loyalty_opening_account_id", readonly=False
    )
    loyalty_liability_start_date = fields.Date(
        related="company_id.loyalty_liability_start_date", readonly=False
    )
    loyalty_liability_posted_date = fields.Date(
        related="company_id.loyalty_liability_posted_date"
    )
    loyalty_redemption_rate = fields.Float(
        related="company_id.loyalty_redemption_rate", readonly=False
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._refuse_bad_loyalty_values(vals)
        churn_list = [
            {fname: vals.pop(fname) for fname in TOGETHER_FIELDS if fname in vals}
            for vals in vals_list
        ]
        settings = super().create(vals_list)
        for record, churn in zip(settings, churn_list, strict=True):
            record._write_churn_thresholds(churn)
        return settings

    def write(self, vals):
        self._refuse_bad_loyalty_values(vals)
        churn = {fname: vals.pop(fname) for fname in TOGETHER_FIELDS if fname in vals}
        result = super().write(vals)
        for record in self:
            record._write_churn_thresholds(churn)
        return result

    def _refuse_bad_loyalty_values(self, vals):
        """The programme's settings get the guard of every model of the addon
        (text or ``nan`` in an amount is refused, naming the setting, before
        Odoo fails on it); Odoo's own settings are left to Odoo."""
        refuse_bad_values(
            self,
            {
                fname: value
                for fname, value in vals.items()
                if fname in self._fields
                and (self._fields[fname]._module or "").startswith("repeat_customer")
            },
        )

    def _write_churn_thresholds(self, churn):
        """Write the settings checked together (churn thresholds, the points
        liability) in one write of the company."""
        company = self.company_id
        changed = {}
        for fname, value in churn.items():
            field = company._fields[fname]
            new = field.convert_to_record(
                field.convert_to_cache(value, company), company
            )
            if new != company[fname]:
                changed[fname] = value
        if changed:
            company.write(changed)
