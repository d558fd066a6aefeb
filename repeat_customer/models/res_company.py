from itertools import pairwise

from odoo import api, fields, models
from odoo.exceptions import ValidationError

RFM_THRESHOLD_FIELDS = (
    "loyalty_rfm_recency_thresholds",
    "loyalty_rfm_frequency_thresholds",
    "loyalty_rfm_monetary_thresholds",
)


def parse_thresholds(text):
    """Return the four numbers of a threshold setting such as ``"30,90,180,365"``.

    Raise ``ValueError`` when the text does not hold exactly four numbers.
    """
    parts = [p.strip() for p in (text or "").replace(";", ",").split(",")]
    values = [float(p) for p in parts if p]
    if len(values) != 4:
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
    loyalty_last_compute_date = fields.Datetime(
        string="Last Customer Computation", readonly=True
    )

    @api.constrains("loyalty_rfm_window_days")
    def _check_loyalty_rfm_window_days(self):
        for company in self:
            if company.loyalty_rfm_window_days <= 0:
                raise ValidationError(
                    self.env._(
                        "The RFM window of %(company)s must be a positive number of "
                        "days.",
                        company=company.name,
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
                if values[0] < 0 or any(lo >= hi for lo, hi in pairwise(values)):
                    raise ValidationError(
                        self.env._(
                            "%(setting)s must be positive and strictly increasing "
                            "(got %(value)s).",
                            setting=label,
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
        self.ensure_one()
        return {
            "recency": parse_thresholds(self.loyalty_rfm_recency_thresholds),
            "frequency": parse_thresholds(self.loyalty_rfm_frequency_thresholds),
            "monetary": parse_thresholds(self.loyalty_rfm_monetary_thresholds),
        }
