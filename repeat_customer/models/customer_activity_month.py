"""Members' activity month by month: the facts behind the retention rates,
the cohorts and the overview, kept by the figures' computation."""

from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.numbers import pg_array

# the rows a night brings up to date are those that can have moved with the
# calendar since the last full pass, and this many days before it
SINCE_MARGIN_DAYS = 7

# rate field -> (numerator, denominator, factor): a rate of a group is the
# ratio of the sums, never an average of the members' ratios
# the stored figures of a row, besides its key (membership, month)
VALUE_COLUMNS = (
    "company_id",
    "cohort_month",
    "months_since",
    "active_count",
    "new_count",
    "previous_active_count",
    "churned_count",
    "repeat_base_count",
    "repeat_count",
    "order_count",
    "revenue",
)
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
    _inherit = ["customer.rate.mixin", "customer.values.mixin"]
    _rates = RATES
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
    home_store_id = fields.Many2one(
        related="membership_id.home_store_id", string="Home Store"
    )

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
                purchase(membership_id, day, amount, is_order, store_id)
                    AS (%(purchases)s),
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
                -- a member's months in order: each month bought (or refunded)
                -- with the month before's orders, and the month after a
                -- month bought when the member did not buy in it (the month
                -- they lapse in), once it has begun
                ordered AS (
                    SELECT membership_id, month, orders, revenue,
                           lag(month) OVER w AS prev_month,
                           lag(orders) OVER w AS prev_orders,
                           lead(month) OVER w AS next_month
                      FROM monthly
                    WINDOW w AS (PARTITION BY membership_id ORDER BY month)
                ),
                months(membership_id, month, orders, revenue, prev_orders) AS (
                    SELECT membership_id, month, orders, revenue,
                           CASE WHEN prev_month = (month - interval '1 month')::date
                                THEN prev_orders ELSE 0 END
                      FROM ordered
                    UNION ALL
                    SELECT membership_id, (month + interval '1 month')::date, 0, 0,
                           orders
                      FROM ordered
                     WHERE orders > 0 AND month < %(this_month)s
                       AND next_month IS DISTINCT FROM
                           (month + interval '1 month')::date
                ),
                fresh(membership_id, month, %(values)s) AS (
                SELECT k.membership_id, k.month, %(company)s, f.month_first,
                       ((extract(year FROM k.month)
                         - extract(year FROM f.month_first)) * 12
                        + extract(month FROM k.month)
                        - extract(month FROM f.month_first))::int,
                       (k.orders > 0)::int,
                       COALESCE(k.month = f.month_first, FALSE)::int,
                       (k.prev_orders > 0)::int,
                       (k.prev_orders > 0 AND k.orders <= 0)::int,
                       COALESCE(k.month = f.month_first
                                AND f.first_day <= %(today)s::date - %(window)s,
                                FALSE)::int,
                       COALESCE(k.month = f.month_first
                                AND f.first_day <= %(today)s::date - %(window)s
                                AND s.second_day <= f.first_day + %(window)s,
                                FALSE)::int,
                       GREATEST(k.orders, 0),
                       k.revenue
                  FROM months k
                  LEFT JOIN (SELECT membership_id, first_day,
                                    date_trunc('month', first_day)::date AS month_first
                               FROM firsts) f
                    ON f.membership_id = k.membership_id
                  LEFT JOIN seconds s ON s.membership_id = k.membership_id
                ),
                -- the rows as they are, against the rows as they should be:
                -- one hash join, and only the differences written
                diff AS MATERIALIZED (
                    SELECT n.*, o.id AS old_id
                      FROM fresh n
                      FULL JOIN (SELECT * FROM customer_activity_month
                                  WHERE membership_id = ANY(%(ids)s::int[])
                                    AND company_id = %(company)s) o
                        ON o.membership_id = n.membership_id AND o.month = n.month
                     WHERE o.id IS NULL OR n.membership_id IS NULL
                        OR (%(old_values)s) IS DISTINCT FROM (%(new_values)s)
                ),
                gone AS (
                    DELETE FROM customer_activity_month a USING diff d
                     WHERE d.membership_id IS NULL AND a.id = d.old_id
                ),
                changed AS (
                    UPDATE customer_activity_month a SET %(set_diff)s
                      FROM diff d
                     WHERE d.membership_id IS NOT NULL AND a.id = d.old_id
                )
                INSERT INTO customer_activity_month AS a
                       (membership_id, month, %(values)s)
                SELECT membership_id, month, %(values)s FROM diff WHERE old_id IS NULL
                -- a row another transaction inserted meanwhile: ours is newer
                ON CONFLICT (membership_id, month) DO UPDATE SET %(set_excluded)s
                """,
                ids=ids,
                company=company.id,
                values=SQL(", ".join(VALUE_COLUMNS)),
                old_values=SQL(", ".join(f"o.{c}" for c in VALUE_COLUMNS)),
                new_values=SQL(", ".join(f"n.{c}" for c in VALUE_COLUMNS)),
                set_diff=SQL(", ".join(f"{c} = d.{c}" for c in VALUE_COLUMNS)),
                set_excluded=SQL(
                    ", ".join(f"{c} = EXCLUDED.{c}" for c in VALUE_COLUMNS)
                ),
                purchases=self.env["customer.membership"]._purchases_query(company),
                this_month=this_month,
                today=today,
                window=company.loyalty_repeat_days,
            )
        )
        self.invalidate_model()

    @api.model
    def _advance_with_calendar(self, company, membership_ids, changed_ids):
        """Bring the rows of ``membership_ids`` up to date between full
        passes: the members of ``changed_ids`` (their purchases changed) and
        those whose repeat window ended are recomputed from their purchases
        (``_update_activity``); a member only due the month they lapse in
        (the month after their last purchase has begun, with no purchase)
        gets that month's row written from the row of their last purchase
        month, without reading their purchases: a month's first nights,
        when every member who bought the month before is due, stay as cheap
        as the others."""
        lapse_ids, window_ids = self._due_ids(company, membership_ids, split=True)
        full = set(changed_ids) | set(window_ids)
        lapsed = self._write_lapse_rows(
            company, [i for i in lapse_ids if i not in full]
        )
        full |= set(lapse_ids) - set(lapsed) - full
        self._update_activity(company, sorted(full))

    @api.model
    def _write_lapse_rows(self, company, membership_ids):
        """Write, for each member of ``membership_ids``, the row of the month
        after their last purchase month (they bought then, not since): the
        row ``_update_activity`` would compute, from the row of their last
        purchase month, which must be up to date (their purchases did not
        change since it was written). Return the ids written."""
        if not membership_ids:
            return []
        this_month = company._loyalty_today().replace(day=1)
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO customer_activity_month AS a
                       (membership_id, month, %(values)s)
                SELECT m.id,
                       (l.month + interval '1 month')::date,
                       l.company_id, l.cohort_month, l.months_since + 1,
                       0, 0, 1, 1, 0, 0, 0, 0
                  FROM customer_membership m
                  JOIN customer_activity_month l
                    ON l.membership_id = m.id
                   AND l.month = date_trunc('month', m.last_order_date)::date
                   AND l.active_count = 1
                 WHERE m.id = ANY(%(ids)s::int[])
                   AND m.company_id = %(company)s
                   AND l.month < %(this_month)s
                ON CONFLICT (membership_id, month) DO NOTHING
                RETURNING a.membership_id
                """,
                values=SQL(", ".join(VALUE_COLUMNS)),
                ids=pg_array(membership_ids),
                company=company.id,
                this_month=this_month,
            )
        )
        written = [row[0] for row in self.env.cr.fetchall()]
        self.invalidate_model()
        return written

    @api.model
    def _due_ids(self, company, membership_ids, split=False):
        """Of ``membership_ids``, the members whose rows are behind the
        calendar alone: the month after their last purchase has begun and
        has no row yet (the month they lapse in unless they buy again), or
        their repeat window has ended and their first month's row does not
        count them in the repeat-purchase base yet. Read from the rows
        themselves, so nights the job did not run are caught up however
        many, and a member is due once, not night after night. Only members
        whose rows can have moved since the last full pass (which brought
        every row up to date) are looked at, with a week's margin. With
        ``split``: (the members due the month they lapse in, the members
        whose window ended)."""
        if not membership_ids:
            return []
        today = company._loyalty_today()
        window = timedelta(days=company.loyalty_repeat_days)
        since = company.loyalty_stats_full_date
        since = min(since, today) - timedelta(days=SINCE_MARGIN_DAYS) if since else None
        self.env.cr.execute(
            SQL(
                """
                SELECT m.id,
                       (m.last_order_date < %(this_month)s
                        AND m.last_order_date
                            >= COALESCE(%(lapse_from)s::date, '-infinity')
                        AND NOT EXISTS (
                            SELECT 1 FROM customer_activity_month a
                             WHERE a.membership_id = m.id
                               AND a.month = (date_trunc('month', m.last_order_date)
                                              + interval '1 month')::date))
                           AS lapse,
                       (m.first_order_date <= %(window_end)s
                        AND m.first_order_date
                            > COALESCE(%(window_from)s::date, '-infinity')
                        AND EXISTS (
                            SELECT 1 FROM customer_activity_month a
                             WHERE a.membership_id = m.id
                               AND a.month = date_trunc(
                                       'month', m.first_order_date)::date
                               AND a.repeat_base_count = 0))
                           AS window
                  FROM customer_membership m
                 WHERE m.id = ANY(%(ids)s::int[])
                """,
                ids=pg_array(membership_ids),
                this_month=today.replace(day=1),
                lapse_from=since and since.replace(day=1),
                window_end=today - window,
                window_from=since and since - window,
            )
        )
        rows = self.env.cr.fetchall()
        if split:
            return (
                [id_ for id_, lapse, _window in rows if lapse],
                [id_ for id_, _lapse, window in rows if window],
            )
        return [id_ for id_, lapse, window in rows if lapse or window]
