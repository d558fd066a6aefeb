from odoo import fields, models, tools
from odoo.tools import SQL

from ..tools.campaigns import Z_95


class CustomerCampaignResult(models.Model):
    """A campaign's results per month of its deliveries: the members
    contacted and held out, their conversion, revenue and coupon use, and the
    uplift of conversion with its 95 % interval (the same arithmetic as
    ``tools.campaigns.proportion_uplift``, in SQL)."""

    _name = "customer.campaign.result"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Campaign Results per Month"
    _auto = False
    _order = "period desc, campaign_id"
    _rec_name = "campaign_id"

    campaign_id = fields.Many2one("customer.campaign", string="Campaign", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    period = fields.Date(string="Month", readonly=True)
    sent_count = fields.Integer(string="Contacted", readonly=True)
    control_count = fields.Integer(string="Control", readonly=True)
    converted_count = fields.Integer(string="Contacted Who Ordered", readonly=True)
    control_converted_count = fields.Integer(
        string="Control Who Ordered", readonly=True
    )
    conversion_rate = fields.Float(
        string="Conversion (%)", readonly=True, aggregator="avg", digits=(16, 1)
    )
    control_conversion_rate = fields.Float(
        string="Control Conversion (%)", readonly=True, aggregator="avg", digits=(16, 1)
    )
    uplift = fields.Float(
        string="Uplift (points of %)", readonly=True, aggregator="avg", digits=(16, 1)
    )
    uplift_low = fields.Float(
        string="Uplift, 95 % Low", readonly=True, aggregator="avg", digits=(16, 1)
    )
    uplift_high = fields.Float(
        string="Uplift, 95 % High", readonly=True, aggregator="avg", digits=(16, 1)
    )
    revenue_per_member = fields.Monetary(
        string="Revenue per Contacted", readonly=True, aggregator="avg"
    )
    control_revenue_per_member = fields.Monetary(
        string="Revenue per Control", readonly=True, aggregator="avg"
    )
    coupon_use_rate = fields.Float(
        string="Coupons Used (%)", readonly=True, aggregator="avg", digits=(16, 1)
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE VIEW %(view)s AS
                WITH g AS (
                    SELECT min(d.id) AS id, d.campaign_id, d.company_id,
                           date_trunc('month', d.delivery_date)::date AS period,
                           count(*) FILTER (WHERE d.state = 'sent') AS n_t,
                           count(*) FILTER (WHERE d.state = 'control') AS n_c,
                           COALESCE(sum(d.converted_count)
                                    FILTER (WHERE d.state = 'sent'), 0) AS x_t,
                           COALESCE(sum(d.converted_count)
                                    FILTER (WHERE d.state = 'control'), 0) AS x_c,
                           COALESCE(sum(d.revenue)
                                    FILTER (WHERE d.state = 'sent'), 0) AS r_t,
                           COALESCE(sum(d.revenue)
                                    FILTER (WHERE d.state = 'control'), 0) AS r_c,
                           COALESCE(sum(d.coupon_issued_count)
                                    FILTER (WHERE d.state = 'sent'), 0) AS issued,
                           COALESCE(sum(d.coupon_used_count)
                                    FILTER (WHERE d.state = 'sent'), 0) AS used
                      FROM customer_campaign_delivery d
                     WHERE d.state IN ('sent', 'control')
                     GROUP BY d.campaign_id, d.company_id,
                              date_trunc('month', d.delivery_date)
                ),
                p AS (
                    SELECT g.*,
                           x_t::float / NULLIF(n_t, 0) AS p_t,
                           x_c::float / NULLIF(n_c, 0) AS p_c
                      FROM g
                )
                SELECT id, campaign_id, company_id, period,
                       n_t AS sent_count, n_c AS control_count,
                       x_t AS converted_count, x_c AS control_converted_count,
                       100 * COALESCE(p_t, 0) AS conversion_rate,
                       100 * COALESCE(p_c, 0) AS control_conversion_rate,
                       100 * (p_t - p_c) AS uplift,
                       100 * (p_t - p_c - %(z)s * sqrt(p_t * (1 - p_t) / n_t
                                                       + p_c * (1 - p_c) / n_c))
                           AS uplift_low,
                       100 * (p_t - p_c + %(z)s * sqrt(p_t * (1 - p_t) / n_t
                                                       + p_c * (1 - p_c) / n_c))
                           AS uplift_high,
                       r_t / NULLIF(n_t, 0) AS revenue_per_member,
                       r_c / NULLIF(n_c, 0) AS control_revenue_per_member,
                       100.0 * used / NULLIF(issued, 0) AS coupon_use_rate
                  FROM p
                """,
                view=SQL.identifier(self._table),
                z=Z_95,
            )
        )
