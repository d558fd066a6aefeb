from odoo import fields, models, tools
from odoo.tools import SQL


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
    divided by its size."""

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
                    SELECT company_id, cohort_month, count(*) AS cohort_size
                      FROM customer_activity_month
                     WHERE new_count = 1
                     GROUP BY company_id, cohort_month
                )
                SELECT a.id, a.membership_id, a.company_id, m.user_id,
                       a.cohort_month, a.month, a.months_since,
                       s.cohort_size,
                       100.0 / s.cohort_size AS retention,
                       a.revenue,
                       a.revenue / s.cohort_size AS revenue_per_member
                  FROM customer_activity_month a
                  JOIN customer_membership m ON m.id = a.membership_id
                  JOIN sizes s
                    ON s.company_id = a.company_id
                   AND s.cohort_month = a.cohort_month
                 WHERE a.active_count = 1
                """,
                view=SQL.identifier(self._table),
            )
        )
