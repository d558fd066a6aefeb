from odoo import fields, models, tools
from odoo.tools import SQL

RATES = {"complaint_rate": ("complaint_count", "order_count", 100.0)}


class CustomerServiceRate(models.Model):
    """Complaints per 100 orders: a row per purchase, whatever its channel
    (``customer.purchase``: a confirmed sales order, a till order...), and a
    row per complaint, each on the company's day it happened, with its salesperson
    (the order's; for a complaint about no order, the customer's), sales
    team and current segment and tier; a group's rate is the ratio of its
    sums. A salesperson sees her rows on both sides of the ratio: her
    orders, and the complaints about them (or about her customers)."""

    _name = "customer.service.rate"
    _inherit = ["customer.rate.mixin", "customer.values.mixin"]
    _rates = RATES
    _description = "Complaint Rate"
    _auto = False
    _order = "date desc"
    _rec_name = "date"
    # what the view reads: flushed before it is read
    _depends = {
        "sale.order": [
            "date_order",
            "company_id",
            "partner_id",
            "user_id",
            "team_id",
            "state",
        ],
        "customer.service.request": [
            "create_date",
            "company_id",
            "membership_id",
            "commercial_partner_id",
            "salesperson_id",
            "order_id",
            "is_complaint",
            "stage_id",
        ],
        "customer.service.stage": ["is_cancel"],
        "customer.membership": ["partner_id", "company_id", "segment_id", "tier_id"],
        "res.partner": ["commercial_partner_id", "tz"],
    }

    date = fields.Date(string="Date", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    membership_id = fields.Many2one(
        "customer.membership", string="Member", readonly=True
    )
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    sales_team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    segment_id = fields.Many2one("customer.segment", string="Segment", readonly=True)
    tier_id = fields.Many2one("customer.tier", string="Tier", readonly=True)
    order_id = fields.Many2one("sale.order", string="Order", readonly=True)
    request_id = fields.Many2one(
        "customer.service.request", string="Complaint", readonly=True
    )
    order_count = fields.Integer(string="Orders", readonly=True)
    complaint_count = fields.Integer(string="Complaints", readonly=True)
    complaint_rate = fields.Float(
        string="Complaints per 100 Orders",
        compute="_compute_rates",
        aggregator="avg",
        digits=(16, 2),
        help="Complaints over confirmed orders, times 100.",
    )

    def init(self):
        # the view of the versions before 18.0.1.14: the rows are a query now
        tools.drop_view_if_exists(self.env.cr, self._table)

    @property
    def _table_query(self):
        """The orders of every company (its purchase stream: a sales order,
        an invoice or a till order, whatever the channel) and the
        complaints, each a row."""
        Purchase = self.env["customer.purchase"].sudo()
        companies = self.env["res.company"].sudo().with_context(active_test=False)
        branches = [
            SQL(
                """
                SELECT %(row_id)s AS id, d.day AS date,
                       %(company)s AS company_id,
                       d.partner_id, d.user_id, d.team_id,
                       CASE WHEN d.res_model = 'sale.order' THEN d.res_id END
                           AS order_id
                  FROM (%(documents)s) d
                 WHERE d.is_order = 1
                """,
                row_id=Purchase._document_row_id("d"),
                company=company.id,
                documents=Purchase._documents_sql(company),
            )
            for company in companies.search([])
        ]
        orders = (
            SQL(" UNION ALL ").join(branches)
            if branches
            else SQL(
                "SELECT NULL::int, NULL::date, NULL::int, NULL::int, NULL::int, "
                "NULL::int, NULL::int WHERE FALSE"
            )
        )
        return SQL(
            """
            SELECT o.id, o.date, o.company_id,
                   m.id AS membership_id,
                   o.partner_id,
                   o.user_id,
                   o.team_id AS sales_team_id,
                   m.segment_id,
                   m.tier_id,
                   o.order_id,
                   NULL::int AS request_id,
                   1 AS order_count,
                   0 AS complaint_count
              FROM (%(orders)s) o
              LEFT JOIN customer_membership m
                ON m.partner_id = o.partner_id AND m.company_id = o.company_id
            UNION ALL
            SELECT r.id * 2 + 1,
                   (r.create_date AT TIME ZONE 'UTC'
                        AT TIME ZONE COALESCE(cp.tz, 'UTC'))::date,
                   r.company_id,
                   r.membership_id,
                   r.commercial_partner_id,
                   COALESCE(so.user_id, r.salesperson_id),
                   COALESCE(so.team_id, (
                       SELECT tm.crm_team_id FROM crm_team_member tm
                        WHERE tm.user_id = r.salesperson_id AND tm.active
                        ORDER BY tm.id LIMIT 1)),
                   m.segment_id,
                   m.tier_id,
                   r.order_id,
                   r.id,
                   0,
                   1
              FROM customer_service_request r
              JOIN customer_service_stage s ON s.id = r.stage_id
              LEFT JOIN sale_order so ON so.id = r.order_id
              JOIN res_company c ON c.id = r.company_id
              JOIN res_partner cp ON cp.id = c.partner_id
              LEFT JOIN customer_membership m ON m.id = r.membership_id
             WHERE r.is_complaint AND NOT COALESCE(s.is_cancel, FALSE)
            """,
            orders=orders,
        )
