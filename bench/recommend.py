"""Benchmark and evaluate the product recommendations of repeat_customer.

Boots Odoo in-process on ``--db`` and, in a transaction rolled back at the
end:

* **times the weekly pass's profile work** for every member of the company:
  the product neighbours (``customer.product.similarity._update_similarity``)
  and, a batch of members at a time, the purchase profiles and the
  recommendations (``customer.membership._update_profiles``), once on the
  history as it is (what a weekly pass does: only the rows that changed are
  written) and once from empty tables (the first computation, every row
  written);
* **evaluates offline** on the company's own history: each member's last
  order (members with two orders or more in the RFM window) is held out,
  everything is recomputed from the rest, and the held-out products are
  looked for in the ten products recommended to the member. It prints the
  hit rate at 10 (share of members with at least one held-out product among
  their ten) and the recall at 10 (share of a member's held-out products
  found, averaged) of the recommendations and of two baselines: popularity
  (the company's ten most popular products) and buy-again (the member's own
  ten most frequent products, the most recent first among equals). The goal
  is to beat the better of the two by 5 % (relative) or more.

``bench/generate.py`` writes orders without lines: ``--setup-lines N`` first
gives the company 200 products in 20 categories and writes about N order
lines on its confirmed orders, and commits. Customers have tastes (two
favourite categories each, from their id) that most of their lines follow,
and products differ in popularity, so that both a popularity baseline and
co-purchases have something to find. ``--catalogue 65000`` makes a real
shop's catalogue (200 products a category), ``--lines-per-order 9`` a
grocery basket, and ``--staples 0.6 --repertoire 40`` repeat buying: that
share of the lines comes from each household's own forty products, the first
ones bought most. ``--skew 0.8`` gives the catalogue one long tail of
popularity (a few staples in most baskets, as milk and bananas are) and
``--drift 120`` changes each product of a repertoire for another every 120
days, as households change habits; ``--reuse-products`` replaces the lines
of an earlier setup and keeps its products (creating 65 000 takes minutes).
``--hold-out-days 30`` holds out the last month of orders instead of each
member's last order, as an evaluation after a cut date does.
``--fresh-columns`` forgets the planner statistics of the
columns the addon adds to the order lines, as right after its install over a
loaded history. The server's settings are left as they are (the default
``work_mem`` of 4 MB here). The demo database (``bin/run-demo``) has real
lines: run it there without ``--setup-lines``.

Usage::

    python3 bench/recommend.py --db bench_a --setup-lines 1000000
    python3 bench/recommend.py --db bench_a
    python3 bench/recommend.py --db bench_g --setup-lines 1300000 \
        --catalogue 65000 --lines-per-order 9 --staples 0.6 --repertoire 40
    python3 bench/recommend.py --db bench_g --fresh-columns
    # a grocery panel: 2 500 households, about 145 000 orders in a year
    python3 bench/generate.py --db bench_j --customers 2500 --orders 150000 \
        --history-days 400 --one-order-share 0 --churned-share 0.1
    python3 bench/recommend.py --db bench_j --setup-lines 1500000 \
        --catalogue 65000 --lines-per-order 9 --staples 0.5 --repertoire 150 \
        --skew 0.8 --drift 120 --hold-out-days 30
    python3 bench/recommend.py --db repeat_customer_demo
"""

import argparse
import json
import os
import time

from _common import OdooBench, add_odoo_arguments, rss_mb, timed

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_S = 60.0  # the computation at 100 000 members, 1 000 000 lines
CATEGORIES = 20
PRODUCTS_PER_CATEGORY = 10
TASTE_SHARE = 0.7  # lines in one of the customer's two favourite categories
TOP = 10


def setup_lines(
    bench,
    env,
    line_count,
    catalogue=None,
    staples=0.0,
    repertoire=30,
    per_order=2,
    skew=0.0,
    drift=0,
    reuse=False,
):
    """The bench products and about ``line_count`` order lines, committed.

    By default 200 products in 20 categories and one to three lines an
    order. With ``catalogue``, that many products (200 a category) and
    ``per_order`` lines an order on average; with ``staples``, that share of
    the lines are the customer's own repertoire of ``repertoire`` products
    (drawn once per customer by popularity, the first ones bought most),
    bought again and again as a household rebuys its groceries. With
    ``skew``, popularity follows one long tail over the whole catalogue (the
    product of rank r weighs 1 / r^skew, as a few staples fill most baskets)
    instead of one per category; with ``drift`` days, each product of a
    repertoire gives way to another after that many days (each at its own
    time), as households change their habits. With ``reuse``, the products
    of an earlier setup are kept and its lines replaced."""
    company = bench.company(env)
    if reuse:
        # the products of the earlier setup, their lines replaced
        env.cr.execute(
            """
            SELECT pp.id, pt.categ_id FROM product_product pp
              JOIN product_template pt ON pt.id = pp.product_tmpl_id
             WHERE pt.name->>'en_US' LIKE 'Bench Product %%' ORDER BY pp.id
            """
        )
        rows = env.cr.fetchall()
        if not rows:
            raise SystemExit("--reuse-products: no products of an earlier setup")
        products = env["product.product"].browse([row[0] for row in rows])
        categories_count = len({row[1] for row in rows})
        per_category = len(rows) // categories_count
        env.cr.execute(
            "DELETE FROM sale_order_line WHERE product_id = ANY(%s)", [products.ids]
        )
    else:
        if catalogue:
            categories_count = max(CATEGORIES, catalogue // 200)
            per_category = max(1, catalogue // categories_count)
        else:
            categories_count, per_category = CATEGORIES, PRODUCTS_PER_CATEGORY
        categories = env["product.category"].create(
            [
                {"name": f"Bench Category {index:03d}"}
                for index in range(categories_count)
            ]
        )
        products = env["product.product"]
        for category_index, category in enumerate(categories):
            products |= env["product.product"].create(
                [
                    {
                        "name": f"Bench Product {category_index:03d}-{p}",
                        "categ_id": category.id,
                        "list_price": 1.0 + (5 * p + category_index) % 40,
                        "sale_ok": True,
                    }
                    for p in range(per_category)
                ]
            )
    env.cr.execute(
        """
        SELECT count(*) FROM sale_order
         WHERE company_id = %s AND state = 'sale'
        """,
        [company.id],
    )
    orders = env.cr.fetchone()[0]
    # ``per_order`` lines an order on average: a share of the orders gets lines
    share = min(1.0, line_count / float(per_order) / max(orders, 1))
    env.cr.execute(
        """
        CREATE TEMP TABLE bench_product AS
        SELECT p.id, p.category, p.weight,
               sum(p.weight) OVER (ORDER BY p.id) - p.weight AS lo,
               sum(p.weight) OVER (ORDER BY p.id) AS hi,
               sum(p.weight) OVER (PARTITION BY p.category ORDER BY p.id)
                   - p.weight AS cat_lo,
               sum(p.weight) OVER (PARTITION BY p.category ORDER BY p.id)
                   AS cat_hi,
               sum(p.weight) OVER () AS total,
               sum(p.weight) OVER (PARTITION BY p.category) AS cat_total,
               pt.list_price
          FROM (SELECT pp.id, pp.product_tmpl_id,
                       (row_number() OVER (ORDER BY pp.id) - 1) / %(per)s AS category,
                       -- a long tail: a few products sell far more than most,
                       -- in each category or, with a skew, in the catalogue
                       CASE WHEN %(skew)s > 0
                            THEN 1.0 / power(row_number() OVER (
                                     ORDER BY hashtext(pp.id::text), pp.id),
                                     %(skew)s)
                            ELSE 1.0 / (1 + (row_number() OVER (ORDER BY pp.id) - 1)
                                            %% %(per)s)
                                 * (1 + ((row_number() OVER (ORDER BY pp.id) - 1)
                                         / %(per)s) %% 3) END
                           AS weight
                  FROM product_product pp WHERE pp.id = ANY(%(ids)s)) p
          JOIN product_template pt ON pt.id = p.product_tmpl_id;
        CREATE TEMP TABLE bench_draw AS
        SELECT so.id AS order_id, so.partner_id, so.currency_id, so.company_id,
               p.commercial_partner_id AS customer, n AS sequence,
               random() AS kind, random() AS u,
               -- the repertoire's slot of a staple, the first ones far more
               -- often, and the day of the order
               floor(%(repertoire)s * power(random(), 2))::int AS slot,
               floor(extract(epoch FROM so.date_order) / 86400)::int AS day
          FROM sale_order so
          JOIN res_partner p ON p.id = so.partner_id
         -- the order's id in the count: without a reference to the row,
         -- PostgreSQL draws it once for every order
         CROSS JOIN LATERAL generate_series(
             1, 0 * so.id
                + CASE WHEN %(per_order)s <= 2
                       THEN 1 + (random() < 0.6)::int + (random() < 0.4)::int
                       ELSE 1 + floor(random() * (2 * %(per_order)s - 1))::int
                  END) n
         WHERE so.company_id = %(company)s AND so.state = 'sale'
           AND random() < %(share)s;
        CREATE TEMP TABLE bench_line AS
        SELECT order_id, partner_id, currency_id, company_id, sequence,
               CASE WHEN kind >= %(staples)s AND random() < %(taste)s
                    THEN (hashtext(customer::text || ':' ||
                                   (random() < 0.5)::text) & 2147483647) %% %(cats)s
                    END AS category,
               CASE WHEN kind < %(staples)s
                    -- one of the customer's own products: the product of its
                    -- slot, with a drift another one every so many days (each
                    -- slot at its own time)
                    THEN (hashtext(customer::text || ':staple:' || slot::text
                                   || CASE WHEN %(drift)s > 0 THEN ':' || floor(
                                          (day + (hashtext(customer::text
                                                           || ':phase:'
                                                           || slot::text)
                                                  & 2147483647) %% %(period)s)
                                          / %(period)s::float8)::text
                                      ELSE '' END)
                          & 2147483647)::float8 / 2147483648.0
                    ELSE u END AS u
          FROM bench_draw;
        -- a draw's product: the one whose share of the popularity (of all
        -- products, or of its category) holds the draw, found by index
        CREATE INDEX ON bench_product (lo);
        CREATE INDEX ON bench_product (category, cat_lo);
        ANALYZE bench_product;
        CREATE TEMP TABLE bench_pick AS
        SELECT l.*,
               -- numeric, as the bounds are: compared by the index
               (l.u::numeric * CASE WHEN l.category IS NULL THEN t.total
                                    ELSE c.cat_total END) AS pos
          FROM bench_line l
          CROSS JOIN (SELECT max(total) AS total FROM bench_product) t
          LEFT JOIN (SELECT category, max(cat_total) AS cat_total
                       FROM bench_product GROUP BY category) c
            ON c.category = l.category;
        ANALYZE bench_pick;
        INSERT INTO sale_order_line
               (order_id, sequence, name, product_id, product_uom, product_uom_qty,
                price_unit, price_subtotal, price_total, price_tax, discount,
                customer_lead, company_id, currency_id, order_partner_id,
                state, qty_delivered_method, invoice_status, create_uid, write_uid,
                create_date, write_date)
        SELECT DISTINCT ON (l.order_id, bp.id)
               l.order_id, l.sequence, 'Bench line', bp.id, 1, 1,
               bp.list_price, bp.list_price, bp.list_price, 0, 0, 0, l.company_id,
               l.currency_id, l.partner_id, 'sale', 'manual', 'no', 1, 1,
               now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
          FROM bench_pick l
          CROSS JOIN LATERAL (
              SELECT * FROM (
                  (SELECT b.* FROM bench_product b
                    WHERE l.category IS NULL AND b.lo <= l.pos
                    ORDER BY b.lo DESC LIMIT 1)
                  UNION ALL
                  (SELECT b.* FROM bench_product b
                    WHERE b.category = l.category AND b.cat_lo <= l.pos
                    ORDER BY b.category, b.cat_lo DESC LIMIT 1)
              ) pick LIMIT 1
          ) bp
         ORDER BY l.order_id, bp.id;
        """,
        {
            "per": per_category,
            "ids": products.ids,
            "taste": TASTE_SHARE,
            "cats": categories_count,
            "company": company.id,
            "share": share,
            "per_order": per_order,
            "staples": staples,
            "repertoire": repertoire,
            "skew": skew,
            "drift": drift,
            "period": max(drift, 1),
        },
    )
    written = env.cr.rowcount
    env.cr.commit()
    return written


def evaluate(env, company):
    """Hit rate and recall at 10 of the recommendations and of the
    popularity baseline over the held-out products (``bench_held_line``)."""
    env.cr.execute(
        """
        WITH held AS (
            SELECT DISTINCT membership_id, product_id FROM bench_held_line
        ),
        members AS (SELECT DISTINCT membership_id FROM held),
        ours AS (
            SELECT membership_id, product_id FROM customer_recommendation
             WHERE company_id = %(company)s AND rank <= %(top)s
               AND membership_id IN (SELECT membership_id FROM members)
        ),
        popular AS (
            SELECT other_id AS product_id,
                   row_number() OVER (ORDER BY score DESC, other_id) AS position
              FROM customer_product_similarity
             WHERE company_id = %(company)s AND product_id IS NULL
        ),
        baseline AS (
            SELECT m.membership_id, p.product_id
              FROM members m CROSS JOIN popular p
             WHERE p.position <= %(top)s
        ),
        again AS (
            -- the member's own most frequent products before the held-out
            -- order (the most recent first among equals)
            SELECT membership_id, product_id FROM (
                SELECT v.membership_id, v.product_id,
                       row_number() OVER (
                           PARTITION BY v.membership_id
                           ORDER BY count(DISTINCT v.order_id) DESC,
                                    max(v.local_at) DESC, v.product_id) AS position
                  FROM bench_all_line v
                 WHERE v.membership_id IN (SELECT membership_id FROM members)
                   AND v.quantity > 0
                   AND v.order_id NOT IN (SELECT order_id FROM bench_held_order)
                 GROUP BY v.membership_id, v.product_id
            ) r
             WHERE position <= %(top)s
        ),
        scored AS (
            SELECT h.membership_id,
                   count(*) AS held,
                   count(o.product_id) AS ours_found,
                   count(b.product_id) AS baseline_found,
                   count(a.product_id) AS again_found
              FROM held h
              LEFT JOIN ours o
                ON o.membership_id = h.membership_id AND o.product_id = h.product_id
              LEFT JOIN baseline b
                ON b.membership_id = h.membership_id AND b.product_id = h.product_id
              LEFT JOIN again a
                ON a.membership_id = h.membership_id AND a.product_id = h.product_id
             GROUP BY h.membership_id
        )
        SELECT count(*),
               avg((ours_found > 0)::int), avg(ours_found::float8 / held),
               avg((baseline_found > 0)::int), avg(baseline_found::float8 / held),
               avg((again_found > 0)::int), avg(again_found::float8 / held)
          FROM scored
        """,
        {"company": company.id, "top": TOP},
    )
    (
        members,
        ours_hit,
        ours_recall,
        base_hit,
        base_recall,
        again_hit,
        again_recall,
    ) = env.cr.fetchone()
    return {
        "members_evaluated": members,
        "hit_rate_at_10": round(float(ours_hit or 0), 4),
        "recall_at_10": round(float(ours_recall or 0), 4),
        "baseline_hit_rate_at_10": round(float(base_hit or 0), 4),
        "baseline_recall_at_10": round(float(base_recall or 0), 4),
        "again_hit_rate_at_10": round(float(again_hit or 0), 4),
        "again_recall_at_10": round(float(again_recall or 0), 4),
    }


def compute_all(env, company):
    """The weekly pass's profile work for every member of ``company``;
    returns the number of profile and recommendation rows it wrote."""
    memberships = env["customer.membership"]
    env["customer.product.similarity"]._update_similarity(company)
    batch_size = memberships._batch_size()
    last_id = 0
    written = 0
    while ids := memberships._next_batch(company, last_id, batch_size):
        written += memberships._update_profiles(company, ids)
        last_id = ids[-1]
    env.flush_all()
    return written


def hold_out(env, company, days=0):
    """Set aside each member's last order of the RFM window (members with
    two such orders or more), or with ``days`` every order of the last
    ``days`` days (members who bought before them too): the lines kept in
    ``bench_held_line``, the orders put back to draft so that nothing counts
    them (``bench_held_order``)."""
    memberships = env["customer.membership"]
    lines = memberships._profile_lines_sql(company)
    env.cr.execute(
        f"""
        CREATE TEMP TABLE bench_all_line AS {lines.code};
        CREATE TEMP TABLE bench_order_rank AS
        SELECT membership_id, order_id, local_at,
               row_number() OVER (PARTITION BY membership_id
                                  ORDER BY local_at DESC, order_id DESC) AS position
          FROM (SELECT DISTINCT membership_id, order_id, local_at
                  FROM bench_all_line) o;
        CREATE TEMP TABLE bench_held_order AS
        SELECT r.membership_id, r.order_id FROM bench_order_rank r
         WHERE CASE WHEN {int(days)} > 0
                    THEN r.local_at > (SELECT max(local_at) FROM bench_order_rank)
                                      - interval '1 day' * {int(days)}
                    ELSE r.position = 1 END;
        -- a member's held orders count only if they bought before them
        DELETE FROM bench_held_order h
         WHERE NOT EXISTS (
             SELECT 1 FROM bench_order_rank r
              WHERE r.membership_id = h.membership_id
                AND r.order_id NOT IN (SELECT order_id FROM bench_held_order));
        ANALYZE bench_held_order;
        CREATE TEMP TABLE bench_held_line AS
        SELECT l.membership_id, l.product_id FROM bench_all_line l
          JOIN bench_held_order h ON h.order_id = l.order_id;
        UPDATE sale_order SET state = 'draft'
         WHERE id IN (SELECT order_id FROM bench_held_order);
        """,
        lines.params,
    )
    return env.cr.rowcount


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument(
        "--setup-lines",
        type=int,
        metavar="N",
        help="first write about N order lines on the company's orders (commits)",
    )
    parser.add_argument(
        "--catalogue",
        type=int,
        metavar="P",
        help="with --setup-lines: P products (200 a category) instead of 200",
    )
    parser.add_argument(
        "--staples",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="with --setup-lines: the share of the lines that are the customer's "
        "own repertoire, bought again and again (default 0)",
    )
    parser.add_argument(
        "--repertoire",
        type=int,
        default=30,
        help="with --staples: products in a customer's repertoire (default 30)",
    )
    parser.add_argument(
        "--skew",
        type=float,
        default=0.0,
        help="with --setup-lines: one long tail of popularity over the catalogue, "
        "the product of rank r weighing 1 / r^SKEW (default 0: one per category)",
    )
    parser.add_argument(
        "--drift",
        type=int,
        default=0,
        metavar="DAYS",
        help="with --staples: each product of a repertoire replaced by another "
        "after DAYS days, as habits change (default 0: never)",
    )
    parser.add_argument(
        "--reuse-products",
        action="store_true",
        help="with --setup-lines: keep the products of an earlier setup and "
        "replace their order lines",
    )
    parser.add_argument(
        "--hold-out-days",
        type=int,
        default=0,
        metavar="DAYS",
        help="hold out the orders of the last DAYS days (of every member who "
        "bought before them too) instead of each member's last order",
    )
    parser.add_argument(
        "--fresh-columns",
        action="store_true",
        help="first forget the planner statistics of the columns the addon adds "
        "to the order lines (as right after installing it over a loaded history; "
        "needs a database superuser), then time the product neighbours",
    )
    parser.add_argument(
        "--lines-per-order",
        type=int,
        default=2,
        help="with --setup-lines: order lines an order on average (default 2)",
    )
    add_odoo_arguments(parser, REPO_DIR)
    args = parser.parse_args()
    bench = OdooBench(
        args, "customer.recommendation", "repeat_customer 1.9 is not installed"
    )
    figures = {"registry_load_s": round(bench.registry_load_s, 2)}
    if args.setup_lines:
        with bench.env() as env:
            figures["lines_written"] = timed(
                figures,
                "setup_s",
                lambda: setup_lines(
                    bench,
                    env,
                    args.setup_lines,
                    catalogue=args.catalogue,
                    staples=args.staples,
                    repertoire=args.repertoire,
                    per_order=args.lines_per_order,
                    skew=args.skew,
                    drift=args.drift,
                    reuse=args.reuse_products,
                ),
            )
        bench.vacuum_tables(["sale_order_line"])
    with bench.env() as env:
        company = bench.company(env)
        env.cr.execute(
            """
            SELECT count(*),
                   (SELECT count(*) FROM sale_order_line sol
                      JOIN sale_order so ON so.id = sol.order_id
                     WHERE so.company_id = %s AND so.state = 'sale')
              FROM customer_membership WHERE company_id = %s
            """,
            [company.id, company.id],
        )
        figures["members"], figures["order_lines"] = env.cr.fetchone()
        env.cr.execute("SHOW work_mem")
        figures["work_mem"] = env.cr.fetchone()[0]
        if args.fresh_columns:
            # the statistics an install leaves the order lines without: those
            # of the columns it adds (transactional, rolled back at the end)
            env.cr.execute(
                """
                DELETE FROM pg_statistic st
                 USING pg_attribute a, ir_model_fields f
                 WHERE st.starelid = 'sale_order_line'::regclass
                   AND a.attrelid = st.starelid AND a.attnum = st.staattnum
                   AND f.model = 'sale.order.line' AND f.name = a.attname
                   AND f.id IN (SELECT res_id FROM ir_model_data
                                 WHERE model = 'ir.model.fields'
                                   AND module = 'repeat_customer')
                """
            )
            figures["column_statistics_forgotten"] = env.cr.rowcount
        similarity = env["customer.product.similarity"]
        timed(figures, "similarity_s", lambda: similarity._update_similarity(company))
        started = time.perf_counter()
        figures["rows_written"] = compute_all(env, company)
        figures["computation_s"] = time.perf_counter() - started
        env.cr.execute(
            "SELECT count(*) FROM customer_recommendation WHERE company_id = %s",
            [company.id],
        )
        figures["recommendations"] = env.cr.fetchone()[0]
        # the first computation: every profile line and recommendation written
        env.cr.execute(
            """
            DELETE FROM customer_recommendation WHERE company_id = %(c)s;
            DELETE FROM customer_profile_product WHERE company_id = %(c)s;
            DELETE FROM customer_profile_category WHERE company_id = %(c)s;
            """,
            {"c": company.id},
        )
        started = time.perf_counter()
        figures["first_rows_written"] = compute_all(env, company)
        figures["first_computation_s"] = time.perf_counter() - started
        figures["held_out_orders"] = hold_out(env, company, args.hold_out_days)
        compute_all(env, company)
        figures.update(evaluate(env, company))
        figures["peak_mb"] = round(rss_mb(), 1)
    print(f"repeat_customer recommendations: database {args.db}, {bench.company_name}")
    print(
        f"  members {figures['members']:,}, order lines {figures['order_lines']:,}, "
        f"recommendations {figures['recommendations']:,}"
    )
    if args.setup_lines:
        print(
            f"  setup: {figures['lines_written']:,} lines in {figures['setup_s']:.1f} s"
        )
    print(f"  server work_mem {figures['work_mem']}")
    if args.fresh_columns:
        print(
            "  statistics of the addon's order-line columns forgotten: "
            f"{figures['column_statistics_forgotten']}"
        )
    print(f"  product neighbours          {figures['similarity_s']:8.2f} s")
    for key, label, rows in (
        ("computation_s", "weekly pass (the history as it was)", "rows_written"),
        (
            "first_computation_s",
            "first computation (no rows yet)",
            "first_rows_written",
        ),
    ):
        target = "met" if figures[key] <= TARGET_S else "MISSED"
        print(
            f"  neighbours, profiles and recommendations of every member, {label}: "
            f"{figures[key]:.2f} s, {figures[rows]:,} rows written "
            f"(target <= {TARGET_S:.0f} s at 100 000 members: {target})"
        )
    held = (
        f"the last {args.hold_out_days} days"
        if args.hold_out_days
        else "each member's last"
    )
    print(
        f"  offline evaluation: {figures['held_out_orders']:,} orders held out "
        f"({held}), "
        f"{figures['members_evaluated']:,} members"
    )
    print(f"  {'':24}{'hit rate@10':>14}{'recall@10':>12}")
    print(
        f"  {'recommendations':24}{figures['hit_rate_at_10']:>14.1%}"
        f"{figures['recall_at_10']:>12.1%}"
    )
    print(
        f"  {'popularity baseline':24}{figures['baseline_hit_rate_at_10']:>14.1%}"
        f"{figures['baseline_recall_at_10']:>12.1%}"
    )
    print(
        f"  {'buy-again baseline':24}{figures['again_hit_rate_at_10']:>14.1%}"
        f"{figures['again_recall_at_10']:>12.1%}"
    )
    best = max(figures["baseline_hit_rate_at_10"], figures["again_hit_rate_at_10"])
    if best:
        print(
            f"  hit rate@10 against the better baseline: "
            f"{figures['hit_rate_at_10'] / best - 1:+.1%} (target >= +5 %)"
        )
    print(f"  peak memory {figures['peak_mb']:.0f} MB")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)


if __name__ == "__main__":
    main()
