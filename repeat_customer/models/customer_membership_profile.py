"""The members' purchase profile: favourite categories and products, buying
rhythm, preferred day and time, promotion share and sales team, computed
set-wise from the order lines in the nightly job's batches."""

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.numbers import pg_array
from ..tools.sync import replace_member_rows
from .customer_profile import TOP_CATEGORIES, TOP_PRODUCTS

# recommended products a mail shows
MAIL_RECOMMENDATIONS = 3
WEEKDAYS = [
    ("1", "Monday"),
    ("2", "Tuesday"),
    ("3", "Wednesday"),
    ("4", "Thursday"),
    ("5", "Friday"),
    ("6", "Saturday"),
    ("7", "Sunday"),
]
HOUR_BANDS = [
    ("night", "Night (0-6 h)"),
    ("morning", "Morning (6-12 h)"),
    ("afternoon", "Afternoon (12-18 h)"),
    ("evening", "Evening (18-24 h)"),
]


class CustomerMembership(models.Model):
    _inherit = "customer.membership"

    profile_category_ids = fields.One2many(
        "customer.profile.category",
        "membership_id",
        string="Favourite Categories",
        readonly=True,
    )
    profile_product_ids = fields.One2many(
        "customer.profile.product",
        "membership_id",
        string="Favourite Products",
        readonly=True,
    )
    preference_ids = fields.One2many(
        "customer.preference", "membership_id", string="Preferences"
    )
    recommendation_ids = fields.One2many(
        "customer.recommendation",
        "membership_id",
        string="Recommended Products",
        readonly=True,
    )
    recommendation_cards_html = fields.Html(
        string="Recommendation Cards",
        compute="_compute_recommendation_cards_html",
        sanitize=False,
        help="The member's first recommended products as cards, for mail templates.",
    )
    favourite_category_id = fields.Many2one(
        "product.category",
        string="Favourite Category",
        readonly=True,
        help="The category the member spent most on over the RFM window.",
    )
    preferred_weekday = fields.Selection(
        WEEKDAYS,
        string="Preferred Weekday",
        readonly=True,
        help="The weekday of most of the member's orders over the RFM window, "
        "in the company's time zone.",
    )
    preferred_hour_band = fields.Selection(
        HOUR_BANDS,
        string="Preferred Time",
        readonly=True,
        help="The time of day of most of the member's orders over the RFM "
        "window, in the company's time zone.",
    )
    promotion_share = fields.Float(
        string="Orders with a Promotion (%)",
        readonly=True,
        digits=(16, 1),
        aggregator="avg",
        help="Share of the member's orders over the RFM window that used a "
        "coupon, a promotion or points: high for a promotion-driven buyer, "
        "zero for a full-price buyer.",
    )
    main_team_id = fields.Many2one(
        "crm.team",
        string="Main Sales Channel",
        readonly=True,
        help="The sales team of most of the member's orders over the RFM window.",
    )
    purchase_interval_days = fields.Float(
        string="Days Between Purchases",
        compute="_compute_purchase_interval_days",
        digits=(16, 1),
        help="The member's average gap between purchase days, over their "
        "whole history.",
    )

    @api.depends("recommendation_ids")
    def _compute_recommendation_cards_html(self):
        qweb = self.env["ir.qweb"]
        for membership in self:
            recommendations = membership.recommendation_ids.filtered(
                lambda r: r.product_id.active and r.product_id.sale_ok
            )[:MAIL_RECOMMENDATIONS]
            membership.recommendation_cards_html = (
                qweb._render(
                    "repeat_customer.recommendation_cards",
                    {
                        "recommendations": recommendations,
                        "currency": membership.currency_id,
                    },
                )
                if recommendations
                else False
            )

    @api.depends("first_order_date", "last_order_date", "purchase_day_count")
    def _compute_purchase_interval_days(self):
        for membership in self:
            first, last = membership.first_order_date, membership.last_order_date
            days = membership.purchase_day_count
            membership.purchase_interval_days = (
                (last - first).days / (days - 1)
                if first and last and days and days >= 2
                else 0.0
            )

    # ------------------------------------------------------------------
    # Computation
    # ------------------------------------------------------------------
    @api.model
    def _profile_lines_sql(self, company, membership_ids=None):
        """SQL of the order lines that make the profile of the members of
        ``company`` in ``membership_ids`` (None: every member): confirmed
        orders of the RFM window (the company's days), product lines only (no
        notes, reward, points-redemption or down-payment lines), quantity and
        untaxed amount net of posted credit notes, amount in company
        currency.

        Rows: membership, order, local order time, team, product, category,
        quantity, amount, and whether the order used a promotion."""
        members = SQL("company_id = %s", company.id)
        if membership_ids is not None:
            members = SQL(
                "%s AND id = ANY(%s::int[])", members, pg_array(membership_ids)
            )
        return SQL(
            """
            WITH mem AS (
                SELECT id, partner_id FROM customer_membership WHERE %(members)s
            ),
            orders AS (
                SELECT mem.id AS membership_id, so.id AS order_id,
                       so.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s
                           AS local_at,
                       so.team_id,
                       COALESCE(NULLIF(so.currency_rate, 0), 1.0) AS rate,
                       EXISTS (
                           SELECT 1 FROM sale_order_line x
                            WHERE x.order_id = so.id
                              AND (x.reward_id IS NOT NULL
                                   OR x.loyalty_point_entry_id IS NOT NULL)
                       ) AS promoted
                  FROM mem
                  JOIN res_partner p ON p.commercial_partner_id = mem.partner_id
                  JOIN sale_order so ON so.partner_id = p.id
                 WHERE so.company_id = %(company)s AND so.state = 'sale'
                   AND (so.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date
                       >= %(window_start)s
            ),
            line AS (
                SELECT o.*, sol.id AS line_id, sol.product_id, pt.categ_id,
                       sol.product_uom_qty AS ordered, sol.price_subtotal
                  FROM orders o
                  JOIN sale_order_line sol ON sol.order_id = o.order_id
                  JOIN product_product pp ON pp.id = sol.product_id
                  JOIN product_template pt ON pt.id = pp.product_tmpl_id
                 WHERE sol.display_type IS NULL
                   AND sol.reward_id IS NULL
                   AND NOT COALESCE(sol.is_downpayment, FALSE)
                   AND sol.loyalty_point_entry_id IS NULL
            ),
            refunded AS (
                SELECT rel.order_line_id, sum(aml.quantity) AS quantity
                  FROM sale_order_line_invoice_rel rel
                  JOIN account_move_line aml ON aml.id = rel.invoice_line_id
                  JOIN account_move am ON am.id = aml.move_id
                 WHERE rel.order_line_id IN (SELECT line_id FROM line)
                   AND am.state = 'posted' AND am.move_type = 'out_refund'
                 GROUP BY rel.order_line_id
            )
            SELECT l.membership_id, l.order_id, l.local_at, l.team_id,
                   l.product_id, l.categ_id, l.promoted,
                   GREATEST(l.ordered - COALESCE(r.quantity, 0), 0) AS quantity,
                   CASE WHEN l.ordered > 0
                        THEN l.price_subtotal
                             * GREATEST(l.ordered - COALESCE(r.quantity, 0), 0)
                             / l.ordered / l.rate
                        ELSE 0 END AS amount
              FROM line l
              LEFT JOIN refunded r ON r.order_line_id = l.line_id
            """,
            members=members,
            company=company.id,
            tz=company._loyalty_tz(),
            window_start=self._stats_window_start(company),
        )

    @api.model
    def _update_profiles(self, company, membership_ids):
        """Recompute the purchase profile of the members of ``company`` in
        ``membership_ids``: their favourite categories and products replaced,
        and their preferred weekday and time, promotion share and main
        channel written where they changed. Returns the number of profile
        and recommendation rows deleted or inserted."""
        if not membership_ids:
            return 0
        written = 0
        cr = self.env.cr
        ids = pg_array(membership_ids)
        cr.execute("DROP TABLE IF EXISTS customer_profile_batch")
        cr.execute(
            SQL(
                "CREATE TEMP TABLE customer_profile_batch ON COMMIT DROP AS %s",
                self._profile_lines_sql(company, membership_ids),
            )
        )
        cr.execute("ANALYZE customer_profile_batch")
        for table, target, column, top in (
            ("customer_profile_category", "category_id", "categ_id", TOP_CATEGORIES),
            ("customer_profile_product", "product_id", "product_id", TOP_PRODUCTS),
        ):
            cr.execute(
                SQL(
                    """
                    DROP TABLE IF EXISTS customer_profile_new;
                    CREATE TEMP TABLE customer_profile_new ON COMMIT DROP AS
                    SELECT membership_id, rank, %(company)s AS company_id,
                           item AS %(target)s, spend,
                           share_spend AS spend_share, quantity,
                           share_quantity AS quantity_share, orders AS order_count,
                           last_date
                      FROM (
                          SELECT g.*,
                                 row_number() OVER (
                                     PARTITION BY membership_id
                                     ORDER BY spend DESC, quantity DESC, item
                                 ) AS rank,
                                 round((100.0 * spend / NULLIF(
                                     sum(spend) OVER (PARTITION BY membership_id),
                                     0))::numeric, 1) AS share_spend,
                                 round((100.0 * quantity / NULLIF(
                                     sum(quantity) OVER (PARTITION BY membership_id),
                                     0))::numeric, 1) AS share_quantity
                            FROM (
                                SELECT membership_id, %(column)s AS item,
                                       sum(amount) AS spend,
                                       sum(quantity) AS quantity,
                                       count(DISTINCT order_id) AS orders,
                                       max(local_at)::date AS last_date
                                  FROM customer_profile_batch
                                 GROUP BY membership_id, %(column)s
                                HAVING sum(quantity) > 0
                            ) g
                      ) ranked
                     WHERE rank <= %(top)s
                    """,
                    target=SQL.identifier(target),
                    column=SQL.identifier(column),
                    ids=ids,
                    company=company.id,
                    top=top,
                )
            )
            written += sum(
                replace_member_rows(
                    cr,
                    table,
                    "customer_profile_new",
                    (
                        "rank",
                        "company_id",
                        target,
                        "spend",
                        "spend_share",
                        "quantity",
                        "quantity_share",
                        "order_count",
                        "last_date",
                    ),
                    membership_ids,
                )
            )
        cr.execute(
            SQL(
                """
                UPDATE customer_membership m
                   SET favourite_category_id = n.category_id,
                       preferred_weekday = n.weekday,
                       preferred_hour_band = n.hour_band,
                       promotion_share = n.promotion_share,
                       main_team_id = n.team_id
                  FROM (
                      SELECT mem.id,
                             c.category_id, o.weekday, o.hour_band,
                             o.promotion_share, o.team_id
                        FROM customer_membership mem
                        LEFT JOIN customer_profile_category c
                          ON c.membership_id = mem.id AND c.rank = 1
                        LEFT JOIN (
                            SELECT membership_id,
                                   mode() WITHIN GROUP (
                                       ORDER BY extract(isodow FROM local_at)
                                   )::int::text AS weekday,
                                   CASE mode() WITHIN GROUP (
                                            ORDER BY extract(hour FROM local_at)::int
                                                     / 6)
                                        WHEN 0 THEN 'night' WHEN 1 THEN 'morning'
                                        WHEN 2 THEN 'afternoon' ELSE 'evening'
                                   END AS hour_band,
                                   round((100.0 * count(*) FILTER (WHERE promoted)
                                          / count(*))::numeric, 1)
                                       AS promotion_share,
                                   mode() WITHIN GROUP (ORDER BY team_id) AS team_id
                              FROM (SELECT DISTINCT membership_id, order_id,
                                           local_at, team_id, promoted
                                      FROM customer_profile_batch) orders
                             GROUP BY membership_id
                        ) o ON o.membership_id = mem.id
                       WHERE mem.id = ANY(%(ids)s::int[])
                         AND mem.company_id = %(company)s
                  ) n
                 WHERE m.id = n.id
                   AND (m.favourite_category_id, m.preferred_weekday,
                        m.preferred_hour_band, m.promotion_share, m.main_team_id)
                       IS DISTINCT FROM
                       (n.category_id, n.weekday, n.hour_band,
                        n.promotion_share, n.team_id)
                """,
                ids=ids,
                company=company.id,
            )
        )
        written += self.env["customer.recommendation"]._update_recommendations(
            company, membership_ids
        )
        cr.execute("DROP TABLE customer_profile_batch")
        self.env["customer.profile.category"].invalidate_model()
        self.env["customer.profile.product"].invalidate_model()
        self.invalidate_model(
            [
                "favourite_category_id",
                "preferred_weekday",
                "preferred_hour_band",
                "promotion_share",
                "main_team_id",
                "profile_category_ids",
                "profile_product_ids",
            ]
        )
        return written
