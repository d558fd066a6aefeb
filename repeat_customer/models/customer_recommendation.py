"""Products to offer each member next: how likely their next order holds
each product, from the share of their own orders that had it shrunk towards
the company's popularity (an empirical Bayes estimate), with smaller terms
for the item-to-item co-purchase neighbours of what they buy, their favourite
categories and recency; a few places kept for products new to them."""

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.numbers import one_record, pg_array
from ..tools.sync import replace_member_rows

# recommendations kept per member
TOP_RECOMMENDATIONS = 10
# neighbours kept per product, popular products kept per company
TOP_SIMILAR = 10
TOP_POPULAR = 50
# of those, the popular products every member is offered as candidates
POPULAR_CANDIDATES = 10
# products of a member counted in the co-purchases (the most recent ones),
# so that a wholesale account does not weigh more than thousands of pairs
MAX_PRODUCTS_PER_MEMBER = 30
# shrinks the similarity of pairs few customers bought together
SHRINK = 2.0
# The score of a product for a member estimates how likely their next order
# holds it: the share of their orders that had it, shrunk towards the share
# of the company's members who buy it (an empirical Bayes estimate: the
# company's popularity counts as PRIOR_ORDERS orders of the member, so it
# decides for a new member and fades for a regular one), plus small terms for
# the neighbours of what they buy, their favourite categories and how recent
# their last purchase of it was. Weights measured with bench/recommend.py
# (bench/README.md: a grocery panel, the bench's tastes, a large catalogue).
PRIOR_ORDERS = 12.0
NEIGHBOUR_WEIGHT = 0.3
CATEGORY_WEIGHT = 0.3
# the recency of a product: each order that had it counts (1 - d) d^age, age
# 0 for the member's last order; and its weight next to the frequency
RECENCY_DECAY = 0.7
RECENCY_WEIGHT = 0.05
# of the recommendations, the most that are products the member bought
# before: the others are new to them (the popular products they lack, the
# neighbours of theirs), which both hedges a short order and sells more
AGAIN_SLOTS = 8

REASONS = [
    ("again", "Bought Before"),
    ("co_purchase", "Bought Together"),
    ("category", "Favourite Category"),
    ("popular", "Popular"),
]


class CustomerProductSimilarity(models.Model):
    """A company's product neighbours: for each product, the products bought
    by the same customers (cosine of the buyers, shrunk for pairs few
    bought), and with no product, the company's popular products (share of
    the buying members). Computed on the weekly full pass."""

    _name = "customer.product.similarity"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Product Similarity"
    _order = "company_id, product_id, score desc"
    _log_access = False

    company_id = fields.Many2one(
        "res.company", string="Company", required=True, readonly=True, index=True
    )
    product_id = fields.Many2one(
        "product.product",
        string="Product",
        readonly=True,
        ondelete="cascade",
        help="Empty: the row is a popular product of the company.",
    )
    other_id = fields.Many2one(
        "product.product",
        string="Similar Product",
        required=True,
        readonly=True,
        ondelete="cascade",
    )
    score = fields.Float(string="Score", readonly=True, digits=(16, 4))
    buyer_count = fields.Integer(
        string="Customers",
        readonly=True,
        help="Customers who bought both, or the product for a popular one.",
    )

    def init(self):
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS customer_product_similarity_lookup_idx
                ON customer_product_similarity (company_id, product_id)
            """
        )

    @api.model
    def _update_similarity(self, company):
        """Replace ``company``'s product neighbours and popular products,
        from its members' order lines over the RFM window.

        Planned to run in a bounded time whatever the statistics of the
        permanent tables (a first computation right after the install, whose
        new columns on the order lines have none, took a quadratic plan on a
        1.3 M-line history): the tables read are analysed where their
        statistics are missing, what each member bought (their most recent
        products, capped) goes into a temporary table analysed before the
        pairs are counted, and the pairs are joined set-wise."""
        Membership = self.env["customer.membership"]
        Membership._job_analyze(
            [
                *self.env["customer.purchase"]._line_tables(company),
                "product_product",
                "product_template",
            ]
        )
        cr = self.env.cr
        cr.execute("DROP TABLE IF EXISTS customer_sim_bought")
        cr.execute(
            SQL(
                """
                CREATE TEMP TABLE customer_sim_bought ON COMMIT DROP AS
                WITH line AS (%(lines)s),
                bought AS (
                    SELECT membership_id, product_id, max(local_at) AS last_at,
                           count(DISTINCT order_id) AS orders
                      FROM line WHERE quantity > 0
                     GROUP BY membership_id, product_id
                )
                -- the member's staples: what they buy most often (the most
                -- recent among equals), not only their last few products
                SELECT membership_id, product_id FROM (
                    SELECT b.*, row_number() OVER (
                               PARTITION BY membership_id
                               ORDER BY orders DESC, last_at DESC, product_id)
                               AS position
                      FROM bought b
                ) r
                 WHERE position <= %(cap)s;
                ANALYZE customer_sim_bought;
                """,
                lines=Membership._profile_lines_sql(company),
                cap=MAX_PRODUCTS_PER_MEMBER,
            )
        )
        with Membership._job_setwise_plans():
            cr.execute(
                SQL(
                    """
                    WITH capped AS (SELECT * FROM customer_sim_bought),
                    eligible AS (
                        SELECT pp.id FROM product_product pp
                          JOIN product_template pt ON pt.id = pp.product_tmpl_id
                         WHERE pp.active AND pt.active AND pt.sale_ok
                           AND (pt.company_id IS NULL OR pt.company_id = %(company)s)
                    ),
                    buyers AS (
                        SELECT product_id, count(*) AS n FROM capped
                         GROUP BY product_id
                    ),
                    pairs AS (
                        SELECT a.product_id AS i, b.product_id AS j, count(*) AS co
                          FROM capped a
                          JOIN capped b
                            ON b.membership_id = a.membership_id
                           AND b.product_id <> a.product_id
                          JOIN eligible e ON e.id = b.product_id
                         GROUP BY a.product_id, b.product_id
                    ),
                    neighbours AS (
                        SELECT i, j, co, score, row_number() OVER (
                                   PARTITION BY i ORDER BY score DESC, j) AS position
                          FROM (
                              SELECT p.i, p.j, p.co,
                                     p.co / sqrt(bi.n::float8 * bj.n)
                                          * p.co / (p.co + %(shrink)s) AS score
                                FROM pairs p
                                JOIN buyers bi ON bi.product_id = p.i
                                JOIN buyers bj ON bj.product_id = p.j
                          ) s
                    ),
                    popular AS (
                        SELECT b.product_id, b.n,
                               b.n::float8 / (SELECT count(DISTINCT membership_id)
                                                FROM capped) AS score,
                               row_number() OVER (ORDER BY b.n DESC, b.product_id)
                                   AS position
                          FROM buyers b
                          JOIN eligible e ON e.id = b.product_id
                    ),
                    gone AS (
                        DELETE FROM customer_product_similarity
                         WHERE company_id = %(company)s
                    )
                    INSERT INTO customer_product_similarity
                           (company_id, product_id, other_id, score, buyer_count)
                    SELECT %(company)s, i, j, score, co FROM neighbours
                     WHERE position <= %(top_similar)s
                    UNION ALL
                    SELECT %(company)s, NULL, product_id, score, n FROM popular
                     WHERE position <= %(top_popular)s
                    """,
                    company=company.id,
                    shrink=SHRINK,
                    top_similar=TOP_SIMILAR,
                    top_popular=TOP_POPULAR,
                )
            )
        cr.execute("DROP TABLE customer_sim_bought")
        # the recommendations read the rows just written
        Membership._job_analyze(["customer_product_similarity"])
        self.invalidate_model()

    @api.model
    def _has_similarity(self, company):
        self.env.cr.execute(
            "SELECT 1 FROM customer_product_similarity WHERE company_id = %s LIMIT 1",
            [company.id],
        )
        return bool(self.env.cr.fetchone())


class CustomerRecommendation(models.Model):
    """A product to offer a member, with its score and why."""

    _name = "customer.recommendation"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Recommendation"
    _order = "membership_id, rank"
    _rec_name = "product_id"
    _log_access = False
    # the unique index also serves the lookups by member
    _sql_constraints = [
        (
            "membership_rank_unique",
            "UNIQUE(membership_id, rank)",
            "A member has one recommendation per rank.",
        )
    ]

    membership_id = fields.Many2one(
        "customer.membership",
        string="Member",
        required=True,
        readonly=True,
        ondelete="cascade",
    )
    partner_id = fields.Many2one(related="membership_id.partner_id", string="Customer")
    company_id = fields.Many2one(
        "res.company", string="Company", required=True, readonly=True
    )
    product_id = fields.Many2one(
        "product.product",
        string="Product",
        required=True,
        readonly=True,
        ondelete="cascade",
    )
    list_price = fields.Float(related="product_id.lst_price", string="Price")
    currency_id = fields.Many2one(related="company_id.currency_id")
    category_id = fields.Many2one(related="product_id.categ_id", string="Category")
    rank = fields.Integer(string="Rank", readonly=True, aggregator=False)
    score = fields.Float(string="Score", readonly=True, digits=(16, 3))
    reason = fields.Selection(REASONS, string="Why", readonly=True)
    user_id = fields.Many2one(related="membership_id.user_id", string="Salesperson")

    @api.model
    def _update_recommendations(self, company, membership_ids):
        """Replace the recommendations of the members of ``company`` in
        ``membership_ids``, from their order lines in the temporary table
        ``customer_profile_batch`` and their favourite categories (both
        written by ``_update_profiles`` just before), the company's
        product neighbours and its popular products. What a member buys
        again is offered again, whenever they last bought it (groceries are
        rebought weekly).

        Every statement reads temporary tables analysed just before, so
        that the plans hold whatever the statistics of the permanent tables
        (stale while a first computation fills them): the batch's favourite
        categories; what each member bought (in how many of their orders,
        how recently); the eligible products (active, sellable, of the
        company; the neighbours, the popular ones and what the batch bought)
        with their popularity; the candidates (neighbours of what the member
        bought, what they bought before, the popular products, the popular
        products of their favourite categories) with their neighbour score;
        then the candidates scored (see PRIOR_ORDERS), at most AGAIN_SLOTS
        of what they bought before kept, ranked and the rows that changed
        written. Returns the number of rows deleted or inserted."""
        if not self.env["customer.product.similarity"]._has_similarity(company):
            self.env["customer.product.similarity"]._update_similarity(company)
        cr = self.env.cr
        ids = pg_array(membership_ids)
        cr.execute(
            "DROP TABLE IF EXISTS customer_reco_fav, customer_reco_history, "
            "customer_reco_size, customer_reco_product, "
            "customer_reco_candidate, customer_reco_new"
        )
        cr.execute(
            SQL(
                """
                CREATE TEMP TABLE customer_reco_fav ON COMMIT DROP AS
                SELECT membership_id, category_id, spend_share
                  FROM customer_profile_category
                 WHERE membership_id = ANY(%(ids)s::int[]);
                CREATE TEMP TABLE customer_reco_history ON COMMIT DROP AS
                WITH orders AS (
                    SELECT membership_id, order_id,
                           row_number() OVER (
                               PARTITION BY membership_id
                               ORDER BY local_at DESC, order_id DESC) - 1 AS age,
                           count(*) OVER (PARTITION BY membership_id) AS orders
                      FROM (SELECT DISTINCT membership_id, order_id, local_at
                              FROM customer_profile_batch WHERE quantity > 0) o
                )
                SELECT b.membership_id, b.product_id,
                       count(*) AS bought,
                       max(o.orders) AS orders,
                       count(*)::float8 / max(o.orders) AS frequency,
                       -- the member's orders that had it, the last one
                       -- weighing most (about 1 for a product of every order)
                       sum((1 - %(decay)s) * power(%(decay)s, o.age)) AS recency
                  FROM (SELECT DISTINCT membership_id, product_id, order_id
                          FROM customer_profile_batch WHERE quantity > 0) b
                  JOIN orders o
                    ON o.membership_id = b.membership_id AND o.order_id = b.order_id
                 GROUP BY b.membership_id, b.product_id;
                CREATE TEMP TABLE customer_reco_size ON COMMIT DROP AS
                SELECT membership_id, count(*) AS products, max(orders) AS orders
                  FROM customer_reco_history GROUP BY membership_id;
                CREATE TEMP TABLE customer_reco_product ON COMMIT DROP AS
                SELECT pp.id AS product_id, pt.categ_id,
                       COALESCE(p.score, 0) AS popularity
                  FROM (
                      -- the neighbours, the popular products and what the
                      -- batch bought: one set of ids joined, not an OR of
                      -- subqueries (rescanned per product when too big to
                      -- hash in the server's default work_mem)
                      SELECT other_id AS id FROM customer_product_similarity
                       WHERE company_id = %(company)s
                      UNION
                      SELECT product_id FROM customer_profile_batch
                  ) ids
                  JOIN product_product pp ON pp.id = ids.id
                  JOIN product_template pt ON pt.id = pp.product_tmpl_id
                  LEFT JOIN customer_product_similarity p
                    ON p.company_id = %(company)s AND p.product_id IS NULL
                   AND p.other_id = pp.id
                 WHERE pp.active AND pt.active AND pt.sale_ok
                   AND (pt.company_id IS NULL OR pt.company_id = %(company)s);
                ANALYZE customer_reco_fav;
                ANALYZE customer_reco_history;
                ANALYZE customer_reco_size;
                ANALYZE customer_reco_product;
                """,
                ids=ids,
                company=company.id,
                decay=RECENCY_DECAY,
            )
        )
        cr.execute(
            SQL(
                """
                CREATE TEMP TABLE customer_reco_candidate ON COMMIT DROP AS
                SELECT c.membership_id, c.product_id, rp.categ_id, rp.popularity,
                       c.neighbour_score, c.bought, c.recency,
                       COALESCE(z.orders, 0) AS orders
                  FROM (
                      SELECT membership_id, product_id,
                             sum(score) AS neighbour_score,
                             sum(bought) AS bought, sum(recency) AS recency
                        FROM (
                            -- the neighbours of what the member bought, the
                            -- mean over their products (not a sum, which would
                            -- swamp their own repurchases), weighted by how
                            -- often they bought each
                            SELECT h.membership_id, s.other_id AS product_id,
                                   s.score * h.frequency / z.products AS score,
                                   0 AS bought, 0 AS recency
                              FROM customer_reco_history h
                              JOIN customer_reco_size z
                                ON z.membership_id = h.membership_id
                              JOIN customer_product_similarity s
                                ON s.company_id = %(company)s
                               AND s.product_id = h.product_id
                            UNION ALL
                            SELECT membership_id, product_id, 0, bought, recency
                              FROM customer_reco_history
                            UNION ALL
                            SELECT mem.id, p.other_id, 0, 0, 0
                              FROM customer_membership mem
                             CROSS JOIN (SELECT other_id
                                           FROM customer_product_similarity
                                          WHERE company_id = %(company)s
                                            AND product_id IS NULL
                                          ORDER BY score DESC, other_id
                                          LIMIT %(popular_candidates)s) p
                             WHERE mem.id = ANY(%(ids)s::int[])
                               AND mem.company_id = %(company)s
                            UNION ALL
                            SELECT f.membership_id, rp.product_id, 0, 0, 0
                              FROM customer_reco_fav f
                              JOIN customer_reco_product rp
                                ON rp.categ_id = f.category_id AND rp.popularity > 0
                        ) c
                       GROUP BY membership_id, product_id
                  ) c
                  JOIN customer_reco_product rp ON rp.product_id = c.product_id
                  LEFT JOIN customer_reco_size z ON z.membership_id = c.membership_id;
                ANALYZE customer_reco_candidate;
                """,
                ids=ids,
                company=company.id,
                popular_candidates=POPULAR_CANDIDATES,
            )
        )
        cr.execute(
            SQL(
                """
                CREATE TEMP TABLE customer_reco_new ON COMMIT DROP AS
                SELECT membership_id, rank, %(company)s AS company_id, product_id,
                       round(score::numeric, 3) AS score,
                       -- why: bought before (the score estimates how likely
                       -- they buy it again), else the largest part of it
                       (CASE WHEN bought > 0 THEN 'again'
                             WHEN GREATEST(neighbour, category, prior) = prior
                             THEN 'popular'
                             WHEN neighbour >= category THEN 'co_purchase'
                             ELSE 'category' END)::varchar AS reason
                  FROM (
                      SELECT s.*,
                             row_number() OVER (
                                 PARTITION BY membership_id
                                 ORDER BY score DESC, product_id) AS rank
                        FROM (
                          SELECT s.*, own + neighbour + category + prior AS score,
                                 -- the rank among what the member bought
                                 -- before, or among the other products
                                 row_number() OVER (
                                     PARTITION BY membership_id, bought > 0
                                     ORDER BY own + neighbour + category + prior DESC,
                                              product_id) AS kind_rank
                            FROM (
                            SELECT c.membership_id, c.product_id, c.bought,
                                   -- the share of the member's orders that had
                                   -- it, and its popularity as PRIOR_ORDERS
                                   -- more orders of theirs
                                   c.bought / (c.orders + %(prior_orders)s)
                                   + %(recency_weight)s * c.recency AS own,
                                   %(prior_orders)s * c.popularity
                                       / (c.orders + %(prior_orders)s) AS prior,
                                   %(neighbour_weight)s * c.neighbour_score
                                       AS neighbour,
                                   %(category_weight)s
                                       * COALESCE(f.spend_share, 0) / 100.0
                                       AS category
                              FROM customer_reco_candidate c
                              LEFT JOIN customer_reco_fav f
                                ON f.membership_id = c.membership_id
                               AND f.category_id = c.categ_id
                            ) s
                        ) s
                       -- room for something new: at most AGAIN_SLOTS of the
                       -- ten are products the member bought before
                       WHERE bought = 0 OR kind_rank <= %(again_slots)s
                  ) ranked
                 WHERE rank <= %(top)s
                """,
                company=company.id,
                again_slots=AGAIN_SLOTS,
                prior_orders=PRIOR_ORDERS,
                recency_weight=RECENCY_WEIGHT,
                neighbour_weight=NEIGHBOUR_WEIGHT,
                category_weight=CATEGORY_WEIGHT,
                top=TOP_RECOMMENDATIONS,
            )
        )
        written = sum(
            replace_member_rows(
                cr,
                "customer_recommendation",
                "customer_reco_new",
                ("rank", "company_id", "product_id", "score", "reason"),
                membership_ids,
            )
        )
        cr.execute(
            "DROP TABLE customer_reco_fav, customer_reco_history, "
            "customer_reco_size, customer_reco_product, customer_reco_candidate, "
            "customer_reco_new"
        )
        self.invalidate_model()
        return written

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_add_to_order(self):
        """Add the recommended product to the quotation in the context
        (``recommendation_order_id``), one unit at the pricelist's price."""
        one_record(self)
        order_id = self.env.context.get("recommendation_order_id")
        order = self.env["sale.order"]
        if isinstance(order_id, int) and not isinstance(order_id, bool):
            order = order.browse(order_id)
        if not order.exists():
            raise UserError(
                self.env._("Save the quotation before adding a product to it.")
            )
        order.check_access("write")
        if order.state not in ("draft", "sent"):
            raise UserError(self.env._("Products can only be added to a quotation."))
        if order.company_id != self.company_id or (
            order.partner_id.commercial_partner_id != self.membership_id.partner_id
        ):
            raise UserError(self.env._("This recommendation is for another customer."))
        product = self.product_id
        if not (product.active and product.sale_ok):
            raise UserError(
                self.env._("%s can no longer be sold.", product.display_name)
            )
        self.env["sale.order.line"].create(
            {"order_id": order.id, "product_id": product.id, "product_uom_qty": 1}
        )
        return True
