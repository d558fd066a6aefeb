from odoo import fields, models, tools
from odoo.tools import SQL


class CustomerCohort(models.Model):
    """Cohort retention: one row per member and month in which they bought,
    counted from the month of their first order (their cohort).

    Months are the company's, in its time zone; purchases are confirmed
    sales orders (cancelled ones never count), in company currency. Each row
    carries its member's share of the cohort, so that in a pivot of cohorts
    by months since the first order the *count* is the members who bought,
    the sum of *Share of Cohort* the share of the cohort they are, and the
    sum of *Revenue per Cohort Member* the cohort's revenue that month
    divided by its size."""

    _name = "customer.cohort"
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
                WITH orders AS (
                    SELECT m.id AS membership_id, m.company_id, m.user_id,
                           date_trunc('month', (so.date_order AT TIME ZONE 'UTC')
                                      AT TIME ZONE COALESCE(cp.tz, 'UTC'))::date
                               AS month,
                           so.amount_untaxed / NULLIF(so.currency_rate, 0)
                               AS revenue
                      FROM sale_order so
                      JOIN res_partner p ON p.id = so.partner_id
                      JOIN customer_membership m
                        ON m.partner_id = p.commercial_partner_id
                       AND m.company_id = so.company_id
                      JOIN res_company c ON c.id = so.company_id
                      JOIN res_partner cp ON cp.id = c.partner_id
                     WHERE so.state = 'sale'
                ),
                monthly AS (
                    SELECT membership_id, company_id, user_id, month,
                           sum(revenue) AS revenue
                      FROM orders
                     GROUP BY membership_id, company_id, user_id, month
                ),
                member_cohort AS (
                    SELECT membership_id, company_id, min(month) AS cohort_month
                      FROM monthly
                     GROUP BY membership_id, company_id
                ),
                sizes AS (
                    SELECT company_id, cohort_month, count(*) AS cohort_size
                      FROM member_cohort
                     GROUP BY company_id, cohort_month
                )
                SELECT mo.membership_id * 1200
                           + ((extract(year FROM mo.month)
                               - extract(year FROM mc.cohort_month)) * 12
                              + extract(month FROM mo.month)
                              - extract(month FROM mc.cohort_month))::int AS id,
                       mo.membership_id, mo.company_id, mo.user_id,
                       mc.cohort_month, mo.month,
                       ((extract(year FROM mo.month)
                         - extract(year FROM mc.cohort_month)) * 12
                        + extract(month FROM mo.month)
                        - extract(month FROM mc.cohort_month))::int AS months_since,
                       s.cohort_size,
                       100.0 / s.cohort_size AS retention,
                       mo.revenue,
                       mo.revenue / s.cohort_size AS revenue_per_member
                  FROM monthly mo
                  JOIN member_cohort mc ON mc.membership_id = mo.membership_id
                  JOIN sizes s
                    ON s.company_id = mc.company_id
                   AND s.cohort_month = mc.cohort_month
                """,
                view=SQL.identifier(self._table),
            )
        )
