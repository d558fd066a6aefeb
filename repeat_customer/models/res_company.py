import math
from itertools import pairwise

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError

from ..tools.numbers import in_bounds, one_record, refuse_bad_values
from ..tools.points import expiry_date

RFM_THRESHOLD_FIELDS = (
    "loyalty_rfm_recency_thresholds",
    "loyalty_rfm_frequency_thresholds",
    "loyalty_rfm_monetary_thresholds",
)


# what each numeric setting may be: beyond these, dates leave the calendar,
# points leave PostgreSQL's integers, or nothing makes sense any more
SETTING_BOUNDS = {
    "loyalty_rfm_window_days": (1, 3650),
    "loyalty_points_per_unit": (0, 1000),
    "loyalty_points_pending_days": (0, 3650),
    "loyalty_points_expiry_months": (1, 1200),
    "loyalty_points_expiry_years": (1, 100),
    "loyalty_points_expiry_warning_days": (0, 3650),
    "loyalty_point_value": (0, 1_000_000),
    "loyalty_points_max_redeem_percent": (0, 100),
    "loyalty_tier_window_days": (1, 3650),
    "loyalty_campaign_cap": (0, 1000),
    "loyalty_campaign_cap_days": (1, 366),
    "loyalty_quiet_hours_start": (0, 24),
    "loyalty_quiet_hours_end": (0, 24),
    "loyalty_clv_months": (1, 120),
    "loyalty_clv_discount_rate": (0, 100),
    "loyalty_repeat_days": (1, 3650),
    "loyalty_survey_validity_days": (1, 366),
    "loyalty_survey_low_nps": (0, 10),
    "loyalty_survey_low_csat": (1, 5),
    "loyalty_service_max_points": (0, 1000000),
    "loyalty_service_coupon_days": (0, 3660),
    "loyalty_service_max_coupon": (0, 1000000),
    "loyalty_service_customer_points": (0, 100000000),
    "loyalty_service_customer_coupon": (0, 100000000),
    "loyalty_service_limit_days": (1, 3660),
}
# an RFM or tier threshold (days, orders, points or an amount) is at most this
MAX_THRESHOLD = 1e12
# a tier or bonus rule multiplies points by at most this
MAX_MULTIPLIER = 100


def parse_thresholds(text):
    """Return the four numbers of a threshold setting such as ``"30,90,180,365"``.

    Raise ``ValueError`` when the text does not hold exactly four finite
    numbers.
    """
    parts = [p.strip() for p in (text or "").replace(";", ",").split(",")]
    values = [float(p) for p in parts if p]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(text)
    return values


class ResCompany(models.Model):
    _inherit = "res.company"

    loyalty_auto_enroll = fields.Boolean(
        string="Enrol Customers Automatically",
        default=True,
        help="Make a customer a member of this company's programme when their "
        "first sales order is confirmed.",
    )
    loyalty_stats_source = fields.Selection(
        selection=[
            ("order", "Confirmed sales orders"),
            ("invoice", "Posted invoices net of credit notes"),
        ],
        string="Purchase Statistics Source",
        default="order",
        required=True,
        help="Which documents count as purchases for statistics, RFM and churn. "
        "Cancelled documents never count.",
    )
    loyalty_rfm_window_days = fields.Integer(
        string="RFM Window (days)",
        default=730,
        help="Frequency and monetary value only count purchases made during "
        "this many days before the computation date.",
    )
    loyalty_rfm_method = fields.Selection(
        selection=[
            ("quantile", "Quantiles over the company's members"),
            ("threshold", "Fixed thresholds"),
        ],
        string="RFM Scoring Method",
        default="quantile",
        required=True,
    )
    loyalty_rfm_recency_thresholds = fields.Char(
        string="Recency Thresholds (days)",
        default="30,90,180,365",
        help="Four increasing numbers of days: a last purchase at most this many "
        "days ago scores 5, 4, 3 and 2; older scores 1.",
    )
    loyalty_rfm_frequency_thresholds = fields.Char(
        string="Frequency Thresholds (orders)",
        default="2,3,5,10",
        help="Four increasing order counts: at least this many orders in the "
        "window score 2, 3, 4 and 5; fewer scores 1.",
    )
    loyalty_rfm_monetary_thresholds = fields.Char(
        string="Monetary Thresholds (amount)",
        default="500,1000,3000,10000",
        help="Four increasing amounts in company currency: spending at least this "
        "much in the window scores 2, 3, 4 and 5; less scores 1.",
    )
    loyalty_churn_medium_threshold = fields.Float(
        string="Medium Churn Risk From",
        default=0.5,
        help="Churn probability (0-1) from which a member's churn risk is medium.",
    )
    loyalty_churn_high_threshold = fields.Float(
        string="High Churn Risk From",
        default=0.8,
        help="Churn probability (0-1) from which a member's churn risk is high.",
    )
    loyalty_campaign_cap = fields.Integer(
        string="Marketing Messages per Customer",
        default=3,
        help="Campaigns send each customer at most this many marketing messages "
        "per period, all campaigns together (0: no cap). Service messages are "
        "not counted.",
    )
    loyalty_campaign_cap_days = fields.Integer(
        string="Per (days)",
        default=30,
        help="The rolling period of the frequency cap, in days.",
    )
    loyalty_survey_validity_days = fields.Integer(
        string="Survey Link Valid For (days)",
        default=30,
        help="A satisfaction survey can be answered this many days after it is sent.",
    )
    loyalty_survey_low_nps = fields.Integer(
        string="Low Recommendation Score",
        default=6,
        help="An answer at or below this recommendation score (0-10) asks "
        "someone to call the customer back today.",
    )
    loyalty_survey_low_csat = fields.Integer(
        string="Low Satisfaction Score",
        default=2,
        help="An answer at or below this satisfaction (1-5) asks someone to "
        "call the customer back today.",
    )
    loyalty_service_user_id = fields.Many2one(
        "res.users",
        string="Service Leader",
        help="Gets the call-backs of low scores from customers without a "
        "salesperson, the service requests no assignment rule takes, and the "
        "escalations of teams without a leader.",
    )
    loyalty_survey_open_request = fields.Boolean(
        string="Open a Complaint on a Low Score",
        default=True,
        help="A low satisfaction answer also opens a complaint, assigned by the "
        "service rules, with the customer's comment.",
    )
    loyalty_service_max_points = fields.Integer(
        string="Compensation Limit (points)",
        default=500,
        help="The most points one closed complaint can give the customer; more "
        "needs the service leader or a loyalty manager.",
    )
    loyalty_service_max_coupon = fields.Monetary(
        string="Compensation Limit (coupon)",
        currency_field="currency_id",
        default=50.0,
        help="The largest coupon value one closed complaint can give the "
        "customer; more needs the service leader or a loyalty manager.",
    )
    loyalty_service_customer_points = fields.Integer(
        string="Compensation per Customer (points)",
        default=1000,
        help="The most points a customer can be given for complaints over the "
        "period, whoever grants them (0: none).",
    )
    loyalty_service_customer_coupon = fields.Monetary(
        string="Compensation per Customer (coupons)",
        currency_field="currency_id",
        default=100.0,
        help="The most coupon value a customer can be given for complaints over "
        "the period, whoever grants it (0: none).",
    )
    loyalty_service_limit_days = fields.Integer(
        string="Compensation Period (days)",
        default=365,
        help="The rolling period over which a customer's compensation is added up.",
    )
    loyalty_service_coupon_days = fields.Integer(
        string="Compensation Coupon Valid For (days)",
        default=90,
        help="A coupon given for a complaint can be used this many days (0: no "
        "expiry).",
    )
    loyalty_quiet_hours_start = fields.Float(
        string="Quiet Hours From",
        default=21.0,
        help="Campaign messages are not sent from this hour (company's time zone)…",
    )
    loyalty_quiet_hours_end = fields.Float(
        string="Quiet Hours Until",
        default=9.0,
        help="…until this hour; they wait in the queue. Equal hours: no quiet hours.",
    )
    loyalty_rfm_cutpoints = fields.Json(
        string="RFM Cut Points",
        readonly=True,
        help="The cut points used by the last RFM computation, per dimension.",
    )
    loyalty_bgnbd_params = fields.Json(
        string="BG/NBD Parameters",
        readonly=True,
        help="The churn model fitted by the last computation (r, alpha, a, b).",
    )
    loyalty_gamma_gamma_params = fields.Json(
        string="Gamma-Gamma Parameters",
        readonly=True,
        help="The spend model fitted by the last computation (p, q, v).",
    )
    loyalty_clv_months = fields.Integer(
        string="Lifetime Value Horizon (months)",
        default=12,
        help="The predicted lifetime value counts the purchases expected over "
        "this many months.",
    )
    loyalty_clv_discount_rate = fields.Float(
        string="Yearly Discount Rate (%)",
        default=10.0,
        help="Future purchases are discounted at this yearly rate in the "
        "predicted lifetime value.",
    )
    loyalty_repeat_days = fields.Integer(
        string="Repeat Window (days)",
        default=90,
        help="The repeat-purchase rate counts the first-time buyers who buy "
        "again within this many days of their first purchase.",
    )
    loyalty_last_compute_date = fields.Datetime(
        string="Last Customer Computation", readonly=True
    )
    # what the last statistics pass covered, so that the next night only
    # recomputes the members whose documents changed since (see
    # customer_membership_nightly._stats_plan)
    loyalty_stats_since = fields.Datetime(
        string="Statistics Computed At",
        readonly=True,
        help="Database time at which the last statistics pass started.",
    )
    loyalty_stats_window_start = fields.Date(
        string="Statistics Window Start", readonly=True
    )
    loyalty_stats_full_date = fields.Date(
        string="Last Full Statistics Pass",
        readonly=True,
        help="Every member's statistics are recomputed from all documents at "
        "least once a week, and whenever the settings they depend on change.",
    )
    loyalty_stats_signature = fields.Char(string="Statistics Settings", readonly=True)
    # points
    loyalty_points_enabled = fields.Boolean(
        string="Loyalty Points",
        default=True,
        help="Members earn points on their confirmed orders and can redeem them.",
    )
    loyalty_points_per_unit = fields.Float(
        string="Points per Currency Unit",
        default=1.0,
        digits=(16, 4),
        help="Points earned per unit of company currency of the untaxed amount, "
        "before category, tier and bonus multipliers.",
    )
    loyalty_points_rounding = fields.Selection(
        selection=[
            ("down", "Round down"),
            ("half", "Round to the nearest point"),
            ("up", "Round up"),
        ],
        string="Points Rounding",
        default="down",
        required=True,
        help="How the points of an order are rounded to whole points.",
    )
    loyalty_points_excluded_product_ids = fields.Many2many(
        "product.product",
        "res_company_loyalty_excluded_product_rel",
        "company_id",
        "product_id",
        string="Products Without Points",
        help="Order lines of these products earn no points (gift cards, delivery...).",
    )
    loyalty_points_excluded_categ_ids = fields.Many2many(
        "product.category",
        "res_company_loyalty_excluded_categ_rel",
        "company_id",
        "categ_id",
        string="Categories Without Points",
        help="Order lines of products in these categories or their "
        "subcategories earn no points.",
    )
    loyalty_points_release = fields.Selection(
        selection=[
            ("confirm", "Days after confirmation"),
            ("delivery", "Days after full delivery"),
            ("payment", "When the invoices are paid"),
        ],
        string="Points Become Available",
        default="confirm",
        required=True,
        help="Points of a confirmed order stay pending, and cannot be spent, "
        "until this happens; the daily job then makes them available.",
    )
    loyalty_points_pending_days = fields.Integer(
        string="Return Window (days)",
        default=14,
        help="Days after confirmation or full delivery during which the points "
        "of an order stay pending. 0 makes points of confirmed orders "
        "available at once.",
    )
    loyalty_points_expiry_policy = fields.Selection(
        selection=[
            ("never", "Never"),
            ("months", "N months after earning"),
            ("year_end", "At the end of the N-th calendar year"),
        ],
        string="Points Expire",
        default="months",
        required=True,
    )
    loyalty_points_expiry_months = fields.Integer(
        string="Validity (months)",
        default=12,
        help="Points can be spent until this many months after the day they "
        "were earned and expire the day after.",
    )
    loyalty_points_expiry_years = fields.Integer(
        string="Validity (calendar years)",
        default=2,
        help="Points can be spent until 31 December of the N-th calendar year, "
        "the year they were earned being the first.",
    )
    loyalty_points_expiry_warning_days = fields.Integer(
        string="Expiring Soon Within (days)",
        default=30,
        help="Points that expire within this many days are shown as expiring soon.",
    )
    loyalty_point_value = fields.Monetary(
        string="Value of One Point",
        currency_field="currency_id",
        default=0.01,
        help="Discount in company currency given for one redeemed point.",
    )
    loyalty_points_max_redeem_percent = fields.Float(
        string="Maximum Redemption (%)",
        default=50.0,
        help="Points may pay at most this share of an order's total, taxes "
        "included (a points discount carries the taxes of the lines it pays "
        "for).",
    )
    # tiers
    loyalty_tier_rule = fields.Selection(
        selection=[
            ("spend", "Spend"),
            ("points", "Qualifying points earned"),
            ("orders", "Number of orders"),
        ],
        string="Tiers Qualify On",
        default="spend",
        required=True,
        help="The figure, over the tier window, that decides a member's tier. "
        "Qualifying points are points earned on orders net of reversals, "
        "not the spendable balance.",
    )
    loyalty_tier_window_days = fields.Integer(
        string="Tier Window (days)",
        default=365,
        help="The qualifying figure counts the purchases or points of this "
        "many days before today.",
    )

    def write(self, vals):
        refuse_bad_values(self, vals)
        result = super().write(vals)
        if {
            "loyalty_points_excluded_product_ids",
            "loyalty_points_excluded_categ_ids",
        } & set(vals):
            self.env.registry.clear_cache()
        return result

    def _loyalty_tz(self):
        """The company's time zone (its address's), UTC when it has none."""
        one_record(self)
        return self.partner_id.tz or "UTC"

    def _loyalty_service_leader(self):
        """Who gets what has nobody else: the service leader, else the
        administrator."""
        one_record(self)
        return self.loyalty_service_user_id or self.env.ref(
            "base.user_admin", raise_if_not_found=False
        )

    def _loyalty_today(self):
        """Today in the company's time zone: the day of every loyalty job,
        figure and date the programme writes for this company."""
        one_record(self)
        return fields.Date.context_today(self.with_context(tz=self._loyalty_tz()))

    def _loyalty_points_expiry_date(self, earn_date):
        """The last day on which points earned on ``earn_date`` can be spent,
        per the company's expiry policy (None: they never expire). The policy
        an addon overrides for an expiry rule of its own."""
        one_record(self)
        return expiry_date(
            self.loyalty_points_expiry_policy,
            earn_date,
            months=self.loyalty_points_expiry_months,
            years=self.loyalty_points_expiry_years,
        )

    def _loyalty_todays(self):
        """{company id: its today} of these companies, as text, for SQL that
        covers several companies (``(%(todays)s::jsonb ->> company_id::text)
        ::date``)."""
        return {str(company.id): str(company._loyalty_today()) for company in self}

    @tools.ormcache("self.id")
    def _loyalty_programme(self):
        """The company's earning rules and tier ladder, cached: confirming an
        order reads them without a query. Cleared when rules, tiers or the
        exclusions change.

        Return a dict of tuples: excluded product ids, excluded category ids,
        category rules (id, category id, multiplier), other bonus rules (id,
        type, from, to, multiplier), tiers in order (id, threshold, minimum
        stay days) and the tiers' points multipliers (id, multiplier).
        """
        one_record(self)
        company = self.sudo()
        rules = (
            self.env["customer.point.rule"]
            .sudo()
            .search([("company_id", "=", company.id)])
        )
        tiers = (
            self.env["customer.tier"].sudo().search([("company_id", "=", company.id)])
        )
        return {
            "excluded_products": frozenset(
                company.loyalty_points_excluded_product_ids.ids
            ),
            "excluded_categs": tuple(company.loyalty_points_excluded_categ_ids.ids),
            "category_rules": tuple(
                (rule.id, rule.categ_id.id, rule.multiplier)
                for rule in rules
                if rule.rule_type == "category"
            ),
            "other_rules": tuple(
                (rule.id, rule.rule_type, rule.date_from, rule.date_to, rule.multiplier)
                for rule in rules
                if rule.rule_type != "category"
            ),
            "tiers": tuple(
                (tier.id, tier.threshold, tier.minimum_stay_days) for tier in tiers
            ),
            "tier_multipliers": tuple(
                (tier.id, tier.points_multiplier) for tier in tiers
            ),
        }

    def _loyalty_tier_multiplier(self, tier_id):
        """The points multiplier of the tier ``tier_id`` of the company's
        programme (1 without a tier): the one reading of it, for the orders
        confirmed in SQL and the quotations being edited alike."""
        one_record(self)
        if not tier_id:
            return 1.0
        return dict(self._loyalty_programme()["tier_multipliers"]).get(tier_id, 1.0)

    @api.constrains(*SETTING_BOUNDS)
    def _check_loyalty_settings_bounds(self):
        for company in self:
            errors = []
            for fname, (low, high) in SETTING_BOUNDS.items():
                if not in_bounds(company[fname], low, high):
                    errors.append(
                        self.env._(
                            "%(setting)s must be from %(low)s to %(high)s "
                            "(got %(value)s)",
                            setting=company._fields[fname].get_description(self.env)[
                                "string"
                            ],
                            low=low,
                            high=high,
                            value=company[fname],
                        )
                    )
            if errors:
                raise ValidationError(
                    self.env._(
                        "Loyalty settings of %(company)s: %(errors)s.",
                        company=company.name,
                        errors="; ".join(errors),
                    )
                )

    @api.constrains(*RFM_THRESHOLD_FIELDS)
    def _check_loyalty_rfm_thresholds(self):
        for company in self:
            for fname in RFM_THRESHOLD_FIELDS:
                label = company._fields[fname].get_description(self.env)["string"]
                text = company[fname]
                try:
                    values = parse_thresholds(text)
                except ValueError:
                    raise ValidationError(
                        self.env._(
                            "%(setting)s must be four numbers separated by commas, "
                            "for example 30,90,180,365 (got %(value)s).",
                            setting=label,
                            value=text or "",
                        )
                    ) from None
                if (
                    values[0] < 0
                    or values[-1] > MAX_THRESHOLD
                    or any(lo >= hi for lo, hi in pairwise(values))
                ):
                    raise ValidationError(
                        self.env._(
                            "%(setting)s must be positive, strictly increasing "
                            "and at most %(maximum)s (got %(value)s).",
                            setting=label,
                            maximum=int(MAX_THRESHOLD),
                            value=text,
                        )
                    )

    @api.constrains("loyalty_churn_medium_threshold", "loyalty_churn_high_threshold")
    def _check_loyalty_churn_thresholds(self):
        for company in self:
            medium = company.loyalty_churn_medium_threshold
            high = company.loyalty_churn_high_threshold
            if not (0.0 < medium < high < 1.0):
                raise ValidationError(
                    self.env._(
                        "Churn risk thresholds are probabilities: medium must be "
                        "above 0, high above medium and below 1 "
                        "(got %(medium)s and %(high)s).",
                        medium=medium,
                        high=high,
                    )
                )

    def _loyalty_thresholds(self):
        """Return the fixed RFM thresholds as a dict of lists of four floats."""
        one_record(self)
        return {
            "recency": parse_thresholds(self.loyalty_rfm_recency_thresholds),
            "frequency": parse_thresholds(self.loyalty_rfm_frequency_thresholds),
            "monetary": parse_thresholds(self.loyalty_rfm_monetary_thresholds),
        }
