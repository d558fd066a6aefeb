from dateutil.relativedelta import relativedelta

from odoo import api, fields, models, tools
from odoo.osv import expression
from odoo.tools import SQL, date_utils

# measures that are a share of the cohorts' members, not a sum of rows
SHARE_MEASURES = {
    "retention:sum": "__count",
    "revenue_per_member:sum": "revenue:sum",
}


class CustomerCohort(models.Model):
    """Cohort retention: one row per member and month in which they bought,
    counted from the month of their first order (their cohort).

    Months are the company's, in its time zone; purchases are those the
    company's statistics count (confirmed orders or posted invoices; a
    cancelled order never counts), in company currency, as kept in the
    monthly activity (``customer.activity.month``). Each row
    carries its member's share of the cohort, so that in a pivot of cohorts
    by months since the first order the *count* is the members who bought,
    the sum of *Share of Cohort* the share of the cohort they are, and the
    sum of *Revenue per Cohort Member* the cohort's revenue that month
    divided by its size.

    Those two are rates, so a group of several cells (the pivot's *Total*
    row, a cohort's total) is not the sum of its cells' rates: it is the
    buyers (revenue) of the group over the members the group's cohorts had
    in the months it spans, each cohort counted in the months it has lived
    (``_read_group``)."""

    _name = "customer.cohort"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Cohort Retention"
    _auto = False
    _order = "cohort_month desc, months_since"
    _rec_name = "cohort_month"

    membership_id = fields.Many2one(
        "customer.membership", string="Member", readonly=True
    )
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    home_store_id = fields.Many2one(
        "customer.store",
        string="Home Store",
        readonly=True,
        help="The member's home store: where most of their purchases are.",
    )
    cohort_month = fields.Date(
        string="Cohort",
        readonly=True,
        help="The month of the member's first order.",
    )
    month = fields.Date(string="Month", readonly=True)
    months_since = fields.Integer(
        string="Months Since First Order", readonly=True, aggregator=False
    )
    cohort_size = fields.Integer(
        string="Cohort Size",
        readonly=True,
        aggregator="max",
        help="Members whose first order was in the cohort's month.",
    )
    retention = fields.Float(
        string="Share of Cohort (%)",
        readonly=True,
        digits=(16, 1),
        help="This member's share of the cohort: summed over the members who "
        "bought in a month, the share of the cohort that bought.",
    )
    revenue = fields.Monetary(string="Revenue", readonly=True)
    revenue_per_member = fields.Monetary(
        string="Revenue per Cohort Member",
        readonly=True,
        help="This member's revenue of the month divided by the cohort's "
        "size: summed, the cohort's revenue per member.",
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE VIEW %(view)s AS
                WITH sizes AS (
                    -- per home store: a shop's cohorts are its members'
                    SELECT a.company_id, a.cohort_month, m.home_store_id,
                           count(*) AS cohort_size
                      FROM customer_activity_month a
                      JOIN customer_membership m ON m.id = a.membership_id
                     WHERE a.new_count = 1
                     GROUP BY a.company_id, a.cohort_month, m.home_store_id
                )
                SELECT a.id, a.membership_id, a.company_id, m.user_id,
                       m.home_store_id, a.cohort_month, a.month, a.months_since,
                       s.cohort_size,
                       100.0 / s.cohort_size AS retention,
                       a.revenue,
                       a.revenue / s.cohort_size AS revenue_per_member
                  FROM customer_activity_month a
                  JOIN customer_membership m ON m.id = a.membership_id
                  JOIN sizes s
                    ON s.company_id = a.company_id
                   AND s.cohort_month = a.cohort_month
                   AND s.home_store_id IS NOT DISTINCT FROM m.home_store_id
                 WHERE a.active_count = 1
                """,
                view=SQL.identifier(self._table),
            )
        )

    # ------------------------------------------------------------------
    # Rates of groups of cells
    # ------------------------------------------------------------------
    @api.model
    def _read_group(
        self,
        domain,
        groupby=(),
        aggregates=(),
        having=(),
        offset=0,
        limit=None,
        order=None,
    ):
        shares = [spec for spec in aggregates if spec in SHARE_MEASURES]
        if not shares:
            return super()._read_group(
                domain, groupby, aggregates, having, offset, limit, order
            )
        # the sums the rates are made of, then divided per group by the
        # members its cohorts had in the months it spans
        plain = [SHARE_MEASURES.get(spec, spec) for spec in aggregates]
        rows = super()._read_group(domain, groupby, plain, having, offset, limit, order)
        cohorts = self._cohorts_of(domain)
        result = []
        for row in rows:
            keys = dict(zip(groupby, row[: len(groupby)], strict=True))
            members = self._members_of_group(keys, cohorts)
            values = list(row[: len(groupby)])
            for spec, value in zip(aggregates, row[len(groupby) :], strict=True):
                if spec == "retention:sum":
                    value = 100.0 * value / members if members else 0.0
                elif spec == "revenue_per_member:sum":
                    value = value / members if members else 0.0
                values.append(value)
            result.append(tuple(values))
        return result

    @api.model
    def _cohorts_of(self, domain):
        """The cohorts of the rows of ``domain``: [(company, cohort month,
        home store, size, months lived up to the company's current month)],
        a cohort in as many parts as its members have home stores. Every member
        buys in their cohort's month, so every cohort has rows, in month
        0 at least: conditions on the months (since) of ``domain`` are left
        out, or a filter on month 3 would lose the cohorts nobody of which
        bought in month 3."""
        rows = super()._read_group(
            self._without_month_terms(domain),
            ["company_id", "cohort_month:day", "home_store_id"],
            ["cohort_size:max"],
        )
        today = {}
        cohorts = []
        for company, cohort, store, size in rows:
            if company not in today:
                today[company] = company.sudo()._loyalty_today()
            lived = relativedelta(today[company].replace(day=1), cohort.replace(day=1))
            cohorts.append(
                (company, cohort, store, size, max(0, lived.years * 12 + lived.months))
            )
        return cohorts

    @api.model
    def _without_month_terms(self, domain):
        """``domain`` with its conditions on the month of a row (``month``,
        ``months_since``) made true; as it is when it negates a term."""
        domain = expression.normalize_domain(domain)
        if "!" in domain:
            return domain
        return [
            expression.TRUE_LEAF
            if expression.is_leaf(term)
            and not isinstance(term, str)
            and str(term[0]).split(".")[0] in ("month", "months_since")
            else term
            for term in domain
        ]

    @api.model
    def _members_of_group(self, keys, cohorts):
        """The sum over the group's cohorts of their size times the months of the
        group they have lived (``keys``: the group's values by groupby
        spec; a cohort counts in a month from its first, month 0, to the
        current one)."""
        members = 0
        for company, cohort, store, size, lived in cohorts:
            if "company_id" in keys and keys["company_id"] != company:
                continue
            if "home_store_id" in keys and keys["home_store_id"] != store:
                continue
            months = range(lived + 1)
            skip = False
            for spec, value in keys.items():
                fname, _sep, granularity = spec.partition(":")
                if fname == "cohort_month":
                    skip = (
                        skip
                        or not value
                        or date_utils.start_of(cohort, granularity or "month")
                        != date_utils.start_of(value, granularity or "month")
                    )
                elif fname == "months_since":
                    months = [k for k in months if k == value]
                elif fname == "month" and value:
                    granularity = granularity or "month"
                    start = date_utils.start_of(value, granularity)
                    months = [
                        k
                        for k in months
                        if date_utils.start_of(
                            cohort + relativedelta(months=k), granularity
                        )
                        == start
                    ]
            if not skip:
                members += size * len(months)
        return members
