"""Members' activity month by month: the facts behind the retention rates,
the cohorts and the overview, kept by the figures' computation."""

from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.numbers import pg_array

# rows that move with the calendar are refreshed for this many days after
# the day they move, so that nights the job did not run are caught up
CATCH_UP_DAYS = 7
# rate field -> (numerator, denominator, factor): a rate of a group is the
# ratio of the sums, never an average of the members' ratios
RATES = {
    "churn_rate": ("churned_count", "previous_active_count", 100.0),
    "repeat_rate": ("repeat_count", "repeat_base_count", 100.0),
    "average_order_value": ("revenue", "order_count", 1.0),
    "purchase_frequency": ("order_count", "active_count", 1.0),
}


class CustomerActivityMonth(models.Model):
    """One row per member and month in which the member bought, or the month
    right after one (when the member did not buy again, the month they
    lapsed). Months are the company's, in its time zone; purchases are those
    the company's statistics count (confirmed orders or posted invoices, net
    of credit notes), in company currency.

    The rates are ratios of sums over the rows of a group: churn rate is the
    members who bought the month before and not this month over those who
    bought the month before; repeat-purchase rate is the first-time buyers
    who bought again on another day within the company's repeat window over
    those whose window has passed, counted in the month of their first
    order. Segment, tier, region, age band and gender are the member's
    current ones."""

    _name = "customer.activity.month"
    _description = "Loyalty Monthly Activity"
    _order = "month desc, membership_id"
    _rec_name = "month"
    _log_access = False

    membership_id = fields.Many2one(
        "customer.membership",
        string="Member",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        "res.company", string="Company", required=True, readonly=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    month = fields.Date(string="Month", required=True, readonly=True)
    cohort_month = fields.Date(
        string="Cohort",
        readonly=True,
        help="The month of the member's first purchase.",
    )
    months_since = fields.Integer(
        string="Months Since First Purchase", readonly=True, aggregator=False
    )
    active_count = fields.Integer(
        string="Active Members", readonly=True, help="Members who bought in the month."
    )
    new_count = fields.Integer(
        string="New Members",
        readonly=True,
        help="Members whose first purchase was in the month.",
    )
    previous_active_count = fields.Integer(
        string="Active the Month Before",
        readonly=True,
        help="Members who bought in the month before.",
    )
    churned_count = fields.Integer(
        string="Lapsed Members",
        readonly=True,
        help="Members who bought in the month before and not in the month.",
    )
    repeat_base_count = fields.Integer(
        string="First-Time Buyers (Window Passed)",
        readonly=True,
        help="Members who made their first purchase in the month, at least "
        "the repeat window ago.",
    )
    repeat_count = fields.Integer(
        string="Repeat Buyers",
        readonly=True,
        help="Of the first-time buyers of the month, those who bought again on "
        "another day within the repeat window.",
    )
    order_count = fields.Integer(string="Orders", readonly=True)
    revenue = fields.Monetary(string="Revenue", readonly=True)
    churn_rate = fields.Float(
        string="Churn Rate (%)",
        compute="_compute_rates",
        aggregator="avg",
        digits=(16, 1),
        help="Lapsed members over the members active the month before.",
    )
    repeat_rate = fields.Float(
        string="Repeat-Purchase Rate (%)",
        compute="_compute_rates",
        aggregator="avg",
        digits=(16, 1),
        help="Repeat buyers over the first-time buyers whose repeat window passed.",
    )
    average_order_value = fields.Monetary(
        string="Average Order Value",
        compute="_compute_rates",
        aggregator="avg",
        help="Revenue over orders.",
    )
    purchase_frequency = fields.Float(
        string="Orders per Active Member",
        compute="_compute_rates",
        aggregator="avg",
        digits=(16, 2),
        help="Orders over the members who bought.",
    )
    # the member's current attributes, for grouping
    user_id = fields.Many2one(related="membership_id.user_id", string="Salesperson")
    segment_id = fields.Many2one(related="membership_id.segment_id", string="Segment")
    tier_id = fields.Many2one(related="membership_id.tier_id", string="Tier")
    country_id = fields.Many2one(related="membership_id.country_id", string="Country")
    state_id = fields.Many2one(related="membership_id.state_id", string="State")
    city = fields.Char(related="membership_id.city", string="City")
    age_band = fields.Selection(related="membership_id.age_band", string="Age Band")
    gender = fields.Selection(related="membership_id.gender", string="Gender")

    _sql_constraints = [
        (
            "membership_month_unique",
            "unique (membership_id, month)",
            "A member has one activity row per month.",
        )
    ]

    def init(self):
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS customer_activity_month_company_month_idx
                ON customer_activity_month (company_id, month)
            """
        )

    def _compute_rates(self):
        for row in self:
            for fname, (num, den, factor) in RATES.items():
                denominator = row[den]
                row[fname] = factor * row[num] / denominator if denominator else 0.0

    @api.model
    def _read_group_select(self, aggregate_spec, query):
        fname, _property, func = models.parse_read_group_spec(aggregate_spec)
        if fname in RATES and func == "avg":
            num, den, factor = RATES[fname]
            return SQL(
                "%s * SUM(%s) / NULLIF(SUM(%s), 0)",
                factor,
                self._field_to_sql(self._table, num, query),
                self._field_to_sql(self._table, den, query),
            )
        return super()._read_group_select(aggregate_spec, query)

    # ------------------------------------------------------------------
    # Kept by the figures' computation
    # ------------------------------------------------------------------
    @api.model
    def _update_activity(self, company, membership_ids):
        """Bring the rows of the members of ``company`` in ``membership_ids``
        up to date with their purchases, in one statement: rows no longer
        there deleted, new ones inserted, only changed ones rewritten."""
        if not membership_ids:
            return
        ids = pg_array(membership_ids)
        today = company._loyalty_today()
        this_month = today.replace(day=1)
        self.env.cr.execute(
            SQL(
                """
                WITH mem AS (
                    SELECT id, partner_id FROM customer_membership
                     WHERE id = ANY(%(ids)s::int[]) AND company_id = %(company)s
                ),
                purchase(membership_id, day, amount, is_order) AS (%(purchases)s),
                monthly AS (
                    SELECT membership_id,
                           date_trunc('month', day)::date AS month,
                           sum(is_order)::int AS orders,
                           sum(amount) AS revenue
                      FROM purchase
                     GROUP BY membership_id, date_trunc('month', day)::date
                ),
                firsts AS (
                    SELECT membership_id, min(day) AS first_day
                      FROM purchase WHERE is_order = 1
                     GROUP BY membership_id
                ),
                seconds AS (
                    SELECT p.membership_id, min(p.day) AS second_day
                      FROM purchase p
                      JOIN firsts f ON f.membership_id = p.membership_id
                     WHERE p.is_order = 1 AND p.day > f.first_day
                     GROUP BY p.membership_id
                ),
                months AS (
                    SELECT membership_id, month FROM monthly WHERE orders > 0
                    UNION
                    SELECT membership_id, (month + interval '1 month')::date
                      FROM monthly
                     WHERE orders > 0 AND month < %(this_month)s
                    UNION
                    SELECT membership_id, month FROM monthly
                ),
                fresh AS (
                SELECT k.membership_id, %(company)s, k.month, f.month_first,
                       ((extract(year FROM k.month)
                         - extract(year FROM f.month_first)) * 12
                        + extract(month FROM k.month)
                        - extract(month FROM f.month_first))::int,
                       (COALESCE(cur.orders, 0) > 0)::int,
                       COALESCE(k.month = f.month_first, FALSE)::int,
                       (COALESCE(prev.orders, 0) > 0)::int,
                       (COALESCE(prev.orders, 0) > 0
                        AND COALESCE(cur.orders, 0) <= 0)::int,
                       COALESCE(k.month = f.month_first
                                AND f.first_day <= %(today)s::date - %(window)s,
                                FALSE)::int,
                       COALESCE(k.month = f.month_first
                                AND f.first_day <= %(today)s::date - %(window)s
                                AND s.second_day <= f.first_day + %(window)s,
                                FALSE)::int,
                       GREATEST(COALESCE(cur.orders, 0), 0),
                       COALESCE(cur.revenue, 0)
                  FROM months k
                  LEFT JOIN monthly cur
                    ON cur.membership_id = k.membership_id AND cur.month = k.month
                  LEFT JOIN monthly prev
                    ON prev.membership_id = k.membership_id
                   AND prev.month = (k.month - interval '1 month')::date
                  LEFT JOIN (SELECT membership_id, first_day,
                                    date_trunc('month', first_day)::date AS month_first
                               FROM firsts) f
                    ON f.membership_id = k.membership_id
                  LEFT JOIN seconds s ON s.membership_id = k.membership_id
                ),
                gone AS (
                    DELETE FROM customer_activity_month a
                     WHERE a.membership_id = ANY(%(ids)s::int[])
                       AND NOT EXISTS (
                           SELECT 1 FROM fresh
                            WHERE fresh.membership_id = a.membership_id
                              AND fresh.month = a.month)
                )
                INSERT INTO customer_activity_month AS a
                       (membership_id, company_id, month, cohort_month, months_since,
                        active_count, new_count, previous_active_count,
                        churned_count, repeat_base_count, repeat_count,
                        order_count, revenue)
                SELECT * FROM fresh
                ON CONFLICT (membership_id, month) DO UPDATE
                   SET company_id = EXCLUDED.company_id,
                       cohort_month = EXCLUDED.cohort_month,
                       months_since = EXCLUDED.months_since,
                       active_count = EXCLUDED.active_count,
                       new_count = EXCLUDED.new_count,
                       previous_active_count = EXCLUDED.previous_active_count,
                       churned_count = EXCLUDED.churned_count,
                       repeat_base_count = EXCLUDED.repeat_base_count,
                       repeat_count = EXCLUDED.repeat_count,
                       order_count = EXCLUDED.order_count,
                       revenue = EXCLUDED.revenue
                 WHERE (a.company_id, a.cohort_month, a.months_since, a.active_count,
                        a.new_count, a.previous_active_count, a.churned_count,
                        a.repeat_base_count, a.repeat_count, a.order_count, a.revenue)
                       IS DISTINCT FROM
                       (EXCLUDED.company_id, EXCLUDED.cohort_month,
                        EXCLUDED.months_since, EXCLUDED.active_count,
                        EXCLUDED.new_count, EXCLUDED.previous_active_count,
                        EXCLUDED.churned_count, EXCLUDED.repeat_base_count,
                        EXCLUDED.repeat_count, EXCLUDED.order_count, EXCLUDED.revenue)
                """,
                ids=ids,
                company=company.id,
                purchases=self.env["customer.membership"]._purchases_query(company),
                this_month=this_month,
                today=today,
                window=company.loyalty_repeat_days,
            )
        )
        self.invalidate_model()

    @api.model
    def _due_ids(self, company, membership_ids):
        """Of ``membership_ids``, the members whose rows change with the
        calendar alone: their repeat window ended in the last week (they
        join the repeat-purchase base), or, in a month's first week, they
        bought the month before (the new month is the one they lapse in
        unless they buy again). A week, so that nights the job could not run
        are caught up."""
        if not membership_ids:
            return []
        today = company._loyalty_today()
        window = company.loyalty_repeat_days
        this_month = today.replace(day=1)
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM customer_membership
                 WHERE id = ANY(%(ids)s::int[])
                   AND (first_order_date BETWEEN %(window_from)s AND %(window_to)s
                        OR (%(month_start)s
                            AND last_order_date >= %(last_month)s
                            AND last_order_date < %(this_month)s))
                """,
                ids=pg_array(membership_ids),
                window_from=today - timedelta(days=window + CATCH_UP_DAYS),
                window_to=today - timedelta(days=window),
                month_start=today.day <= CATCH_UP_DAYS,
                last_month=this_month - relativedelta(months=1),
                this_month=this_month,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]
