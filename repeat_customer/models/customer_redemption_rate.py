from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL


class CustomerRedemptionRate(models.Model):
    """The expected redemption rate of a company's points, from a date: the
    share of the points issued that members will ever redeem. A revision is
    a new rate from a later date, so the history shows what the entries
    used and when it changed; rates the posted entries used are kept."""

    _name = "customer.redemption.rate"
    _inherit = ["customer.values.mixin"]
    _description = "Expected Points Redemption Rate"
    _order = "company_id, date_from desc"
    _rec_name = "date_from"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    date_from = fields.Date(
        string="Valid From",
        required=True,
        default=fields.Date.context_today,
        help="The rate applies from this day until the next rate of the "
        "company. The first rate also applies to the days before it.",
    )
    rate = fields.Float(
        string="Expected Redemption Rate",
        required=True,
        digits=(16, 4),
        help="Share of the points issued that members are expected to redeem "
        "(1 = all of them).",
    )
    note = fields.Char(
        string="Reason",
        help="Why the rate was set or revised (the redemption history it is based on).",
    )

    _sql_constraints = [
        (
            "date_company_uniq",
            "UNIQUE(company_id, date_from)",
            "A company has one expected redemption rate per day.",
        ),
    ]

    @api.constrains("rate")
    def _check_rate(self):
        for record in self:
            if not 0 < record.rate <= 1:
                raise ValidationError(
                    self.env._(
                        "The expected redemption rate is a share above 0 and "
                        "at most 1 (100 %%), not %(rate)s.",
                        rate=record.rate,
                    )
                )

    def _check_not_used(self):
        """Rates dated on or before a day already posted stay, and none is
        added or moved there: a revision is a new rate from a later day."""
        for record in self:
            posted = record.company_id.loyalty_liability_posted_date
            if posted and record.date_from <= posted:
                raise UserError(
                    self.env._(
                        "Journal entries of the points are posted up to "
                        "%(posted)s: a rate from %(date)s would change what "
                        "they used. Add a new rate from a later day, the day "
                        "the revision applies: the next entry catches up.",
                        posted=posted,
                        date=record.date_from,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        # a new rate dated into posted days would revalue them unseen
        records._check_not_used()
        return records

    def write(self, vals):
        dated = {"rate", "date_from", "company_id"} & set(vals)
        if dated:
            self._check_not_used()
        result = super().write(vals)
        if dated:
            # nor may a later rate be moved back into them
            self._check_not_used()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_unless_used(self):
        self._check_not_used()

    @api.model
    def _ranges_sql(self, company):
        """SQL of a company's rates as ranges [date_from, date_to) (the
        first from the beginning of time, the last to its end)."""
        return SQL(
            """
            SELECT CASE WHEN row_number() OVER w = 1 THEN '-infinity'::date
                        ELSE date_from END AS date_from,
                   COALESCE(lead(date_from) OVER w, 'infinity'::date) AS date_to,
                   rate
              FROM customer_redemption_rate
             WHERE company_id = %s
            WINDOW w AS (ORDER BY date_from)
            """,
            company.id,
        )

    @api.model
    def _rate_function(self, company):
        """A function of a day returning the company's rate on that day."""
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT date_from, rate FROM customer_redemption_rate "
                "WHERE company_id = %s ORDER BY date_from",
                company.id,
            )
        )
        history = self.env.cr.fetchall()

        def rate_of(day):
            current = history[0][1] if history else 0.0
            for date_from, rate in history:
                if date_from > day:
                    break
                current = rate
            return current

        return rate_of
