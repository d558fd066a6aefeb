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
        """SQL of the purchase lines (every channel) that make the profile of
        the members of ``company`` in ``membership_ids`` (None: every
        member): the purchases of the RFM window (the company's days), read
        from the purchase stream (``customer.purchase._lines_sql``).

        Rows: membership, order, local order time, team, store, channel,
        product, category, whether the order used a promotion, quantity and
        amount (net of returns, company currency)."""
        members = SQL("company_id = %s", company.id)
        if membership_ids is not None:
            members = SQL(
                "%s AND id = ANY(%s::int[])", members, pg_array(membership_ids)
            )
        lines = self.env["customer.purchase"]._lines_sql(
            company, since=self._stats_window_start(company), members=SQL("mem")
        )
        return SQL(
            """
            WITH mem AS (
                SELECT id, partner_id FROM customer_membership WHERE %(members)s
            )
            SELECT l.membership_id, l.order_id, l.local_at, l.team_id,
                   l.store_id, l.channel, l.product_id, l.categ_id, l.promoted,
                   l.quantity, l.amount
              FROM (%(lines)s) l
            """,
            members=members,
            lines=lines,
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
