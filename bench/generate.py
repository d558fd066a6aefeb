"""Fill an Odoo database with synthetic customers and confirmed sales orders.

Plain SQL through psycopg2, never the ORM: a few minutes at most for
100 000 customers and 1 000 000 orders. The database must exist with
``repeat_customer`` installed (without demo data), or, with
``--before-install``, only the addons it depends on; the rows are appended to
whatever it already holds, so running it twice doubles the data.

Usage::

    python3 bench/generate.py --db bench --customers 100000 --orders 1000000

What is generated, reproducibly for a given ``--seed``:

* ``--customers`` customer partners (``res_partner``), their own commercial
  entity, about 10 % of them companies with a child contact (type
  ``contact`` or ``invoice``) that also places orders;
* ``--orders`` sales orders (``sale_order``, no lines) spread over every
  customer (each has at least one order when there are enough orders): 30 %
  buy only once, the others share the rest by a log-normal activity, a long
  tail of heavy buyers. Each customer buys between a first and a last date within the
  last three years (about a third stopped buying before today). Amounts are
  log-normal, a few % of the orders are cancelled and a few % are in a second
  currency with ``currency_rate`` != 1.

``--history-days``, ``--one-order-share`` and ``--churned-share`` change the
three years, the 30 % and the 35 %: ``--history-days 400 --one-order-share 0
--churned-share 0.1`` makes a panel of households who shop every week or so
(see ``bench/recommend.py``).
"""

import argparse
import logging
import math
import sys
import time

import psycopg2

_logger = logging.getLogger("bench.generate")

HISTORY_DAYS = 3 * 365
CHILD_SHARE = 0.10  # customers with a child contact that also orders
CHILD_ORDER_SHARE = 0.35  # orders of such customers placed by the child
CHURNED_SHARE = 0.35  # customers whose buying stopped before today
ONE_ORDER_SHARE = 0.30  # customers who buy once and never come back
ACTIVITY_SIGMA = 1.2  # log-normal spread of the other customers' order counts
BASKET_SIGMA = 0.6  # log-normal spread of the customers' typical basket
ORDER_SIGMA = 0.5  # log-normal spread of the orders around that basket
MEAN_BASKET = 250.0  # in company currency, before the log-normal factors
TAX_RATE = 0.15
CANCEL_SHARE = 0.03
FOREIGN_SHARE = 0.05

# Columns filled by the INSERTs below; any other NOT NULL column without a
# default (added by a module installed later) stops the script before it
# writes anything.
PARTNER_COLUMNS = {
    "id",
    "name",
    "complete_name",
    "type",
    "parent_id",
    "commercial_partner_id",
    "commercial_company_name",
    "is_company",
    "active",
    "employee",
    "partner_share",
    "customer_rank",
    "supplier_rank",
    "lang",
    "email",
    "email_normalized",
    "ref",
    "autopost_bills",
    "color",
    "company_id",
    "create_uid",
    "write_uid",
    "create_date",
    "write_date",
}
ORDER_COLUMNS = {
    "id",
    "name",
    "company_id",
    "partner_id",
    "partner_invoice_id",
    "partner_shipping_id",
    "currency_id",
    "pricelist_id",
    "user_id",
    "team_id",
    "state",
    "date_order",
    "currency_rate",
    "amount_untaxed",
    "amount_tax",
    "amount_total",
    "invoice_status",
    "locked",
    "require_signature",
    "require_payment",
    "prepayment_percent",
    "origin",
    "create_uid",
    "write_uid",
    "create_date",
    "write_date",
}

# A standard normal draw (Box-Muller); 1 - random() is in (0, 1].
NORMAL = "(sqrt(-2.0 * ln(1.0 - random())) * cos(2.0 * pi() * random()))"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="database to fill")
    parser.add_argument(
        "--customers", type=int, required=True, help="customer partners to create"
    )
    parser.add_argument(
        "--orders", type=int, required=True, help="sales orders to create"
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="random seed (default: 42)"
    )
    parser.add_argument(
        "--company-id",
        type=int,
        help="company of the orders (default: the first company)",
    )
    parser.add_argument(
        "--fk-checks",
        action="store_true",
        help="keep PostgreSQL's row-by-row foreign key triggers during the load "
        "(several times slower); by default they are skipped for this session "
        "and the references are checked set-wise after the load instead",
    )
    parser.add_argument(
        "--before-install",
        action="store_true",
        help="fill a database where repeat_customer is not installed yet (only "
        "the Odoo addons it depends on), as a data migration before installing "
        "it would, and leave the tables unanalysed (see bench/fresh_load.py)",
    )
    parser.add_argument(
        "--second-currency",
        default="EUR",
        help="ISO code of the foreign currency of some orders (default: EUR)",
    )
    parser.add_argument(
        "--history-days",
        type=int,
        default=HISTORY_DAYS,
        help=f"days of history the customers start buying in (default: {HISTORY_DAYS})",
    )
    parser.add_argument(
        "--one-order-share",
        type=float,
        default=ONE_ORDER_SHARE,
        help="share of the customers who buy once (default: "
        f"{ONE_ORDER_SHARE}); 0 with a short history makes a grocery panel",
    )
    parser.add_argument(
        "--churned-share",
        type=float,
        default=CHURNED_SHARE,
        help=f"share of the customers who stop buying (default: {CHURNED_SHARE})",
    )
    args = parser.parse_args(argv)
    if args.history_days < 1 or not (
        0 <= args.one_order_share <= 1 and 0 <= args.churned_share <= 1
    ):
        parser.error("--history-days must be positive and the shares within 0..1")
    if args.customers < 1 or args.orders < 0:
        parser.error("--customers must be positive and --orders not negative")
    return args


class Step:
    """Time one step and log it."""

    def __init__(self, timings, label):
        self.timings = timings
        self.label = label

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        elapsed = time.perf_counter() - self.start
        self.timings.append((self.label, elapsed))
        _logger.info("%-40s %7.1f s", self.label, elapsed)


def scalar(cr, query, params=None):
    cr.execute(query, params)
    row = cr.fetchone()
    return row[0] if row else None


def check_required_columns(cr, table, filled):
    cr.execute(
        """
        SELECT column_name
          FROM information_schema.columns
         WHERE table_schema = current_schema()
           AND table_name = %s
           AND is_nullable = 'NO'
           AND column_default IS NULL
        """,
        [table],
    )
    missing = sorted(name for (name,) in cr.fetchall() if name not in filled)
    if missing:
        sys.exit(
            f"{table} has NOT NULL columns this generator does not fill: "
            f"{', '.join(missing)}; add them to bench/generate.py"
        )


def load_context(cr, args):
    """Company, currencies, salesperson and team the orders refer to."""
    installed = scalar(
        cr,
        "SELECT 1 FROM ir_module_module WHERE name = 'repeat_customer' "
        "AND state = 'installed'",
    )
    if args.before_install and installed:
        sys.exit(f"repeat_customer is already installed in database {args.db}")
    if not args.before_install and not installed:
        sys.exit(f"repeat_customer is not installed in database {args.db}")
    company_id = args.company_id or scalar(
        cr, "SELECT id FROM res_company ORDER BY id LIMIT 1"
    )
    currency_id = scalar(
        cr, "SELECT currency_id FROM res_company WHERE id = %s", [company_id]
    )
    if currency_id is None:
        sys.exit(f"no company {company_id}")
    foreign_id = scalar(
        cr,
        "SELECT id FROM res_currency WHERE name = %s AND id != %s",
        [args.second_currency, currency_id],
    )
    if foreign_id is None:
        sys.exit(f"no currency {args.second_currency} other than the company's")
    user_id = scalar(
        cr,
        "SELECT id FROM res_users WHERE login = 'admin' UNION ALL SELECT 2 LIMIT 1",
    )
    team_id = scalar(
        cr,
        "SELECT id FROM crm_team WHERE company_id IS NULL OR company_id = %s "
        "ORDER BY id LIMIT 1",
        [company_id],
    )
    pricelist_id = scalar(
        cr,
        "SELECT id FROM product_pricelist WHERE active "
        "AND (company_id IS NULL OR company_id = %s) AND currency_id = %s "
        "ORDER BY sequence, id LIMIT 1",
        [company_id, currency_id],
    )
    return {
        "company": company_id,
        "currency": currency_id,
        "foreign": foreign_id,
        "uid": user_id,
        "team": team_id,
        "pricelist": pricelist_id,
        "lang": scalar(cr, "SELECT code FROM res_lang WHERE active ORDER BY id LIMIT 1")
        or "en_US",
    }


def draw_customers(cr, args):
    """One temporary row per customer with all its random traits."""
    cr.execute(
        f"""
        CREATE TEMP TABLE bench_customer ON COMMIT DROP AS
        SELECT g AS idx,
               CASE WHEN random() < {args.one_order_share} THEN 0.0
                    ELSE exp({ACTIVITY_SIGMA} * {NORMAL}) END AS activity,
               exp({BASKET_SIGMA} * {NORMAL}) AS basket,
               random() AS u_start,
               random() AS u_span,
               random() < {args.churned_share} AS churned,
               random() < {CHILD_SHARE} AS has_child,
               random() < 0.5 AS child_is_invoice,
               NULL::int AS partner_id,
               NULL::int AS child_id,
               NULL::int AS order_count,
               NULL::timestamp AS first_at,
               NULL::timestamp AS last_at
          FROM generate_series(1, %(n)s) g
        """,
        {"n": args.customers},
    )
    # a handful of customers could all be one-time buyers
    cr.execute(
        "UPDATE bench_customer SET activity = 1.0 "
        "WHERE (SELECT sum(activity) FROM bench_customer) = 0"
    )
    # ids first, so that commercial_partner_id and parent_id can refer to them
    cr.execute("UPDATE bench_customer SET partner_id = nextval('res_partner_id_seq')")
    cr.execute(
        "UPDATE bench_customer SET child_id = nextval('res_partner_id_seq') "
        "WHERE has_child"
    )
    # Orders per customer: one each (when there are enough orders), the rest
    # spread in proportion to the activity with cumulative rounding, so the
    # total is exactly --orders.
    base = 1 if args.orders >= args.customers else 0
    extra = args.orders - base * args.customers
    cr.execute(
        """
        WITH cum AS (
            SELECT idx,
                   floor(%(extra)s * sum(activity) OVER (ORDER BY idx)
                         / sum(activity) OVER () + 1e-6) AS upto
              FROM bench_customer
        ),
        share AS (
            SELECT idx, upto - COALESCE(lag(upto) OVER (ORDER BY idx), 0) AS n
              FROM cum
        )
        UPDATE bench_customer c
           SET order_count = %(base)s + share.n::int
          FROM share
         WHERE share.idx = c.idx
        """,
        {"extra": extra, "base": base},
    )
    # Buying period: started uniformly in the history (three years by
    # default); churned customers stopped somewhere between that start and
    # today.
    cr.execute(
        f"""
        UPDATE bench_customer
           SET first_at = (now() AT TIME ZONE 'UTC')
                          - interval '1 day' * {args.history_days} * u_start
        """
    )
    cr.execute(
        """
        UPDATE bench_customer
           SET last_at = CASE
               WHEN churned
               THEN first_at + ((now() AT TIME ZONE 'UTC') - first_at) * u_span
               ELSE now() AT TIME ZONE 'UTC' END
        """
    )


def insert_partners(cr, ctx):
    params = dict(ctx)
    cr.execute(
        """
        INSERT INTO res_partner (
            id, name, complete_name, type, parent_id, commercial_partner_id,
            commercial_company_name, is_company, active, employee,
            partner_share, customer_rank, supplier_rank, lang, email,
            email_normalized, ref, autopost_bills, color, company_id,
            create_uid, write_uid, create_date, write_date)
        SELECT c.partner_id, n.name, n.name, 'contact', NULL, c.partner_id,
               CASE WHEN c.has_child THEN n.name END, c.has_child, TRUE, FALSE,
               TRUE, 1, 0, %(lang)s, n.email, n.email,
               'BENCH' || c.partner_id, 'ask', 0, NULL,
               %(uid)s, %(uid)s, c.first_at, c.first_at
          FROM bench_customer c,
               LATERAL (SELECT 'Bench Customer ' || c.partner_id AS name,
                               'customer' || c.partner_id || '@bench.example.com'
                                   AS email) n
        """,
        params,
    )
    parents = cr.rowcount
    cr.execute(
        """
        INSERT INTO res_partner (
            id, name, complete_name, type, parent_id, commercial_partner_id,
            commercial_company_name, is_company, active, employee,
            partner_share, customer_rank, supplier_rank, lang, email,
            email_normalized, ref, autopost_bills, color, company_id,
            create_uid, write_uid, create_date, write_date)
        SELECT c.child_id, n.name,
               'Bench Customer ' || c.partner_id || ', ' || n.name,
               CASE WHEN c.child_is_invoice THEN 'invoice' ELSE 'contact' END,
               c.partner_id, c.partner_id,
               'Bench Customer ' || c.partner_id, FALSE, TRUE, FALSE,
               TRUE, 1, 0, %(lang)s, n.email, n.email,
               NULL, 'ask', 0, NULL,
               %(uid)s, %(uid)s, c.first_at, c.first_at
          FROM bench_customer c,
               LATERAL (SELECT 'Bench Contact ' || c.child_id AS name,
                               'contact' || c.child_id || '@bench.example.com'
                                   AS email) n
         WHERE c.has_child
        """,
        params,
    )
    return parents, cr.rowcount


def insert_orders(cr, ctx):
    """All the orders in one INSERT ... SELECT over generate_series.

    The inner query draws the random numbers once per order (it is not
    flattened: volatile functions and OFFSET 0), the outer one derives the
    columns from them.
    """
    cr.execute(
        f"""
        INSERT INTO sale_order (
            id, name, company_id, partner_id, partner_invoice_id,
            partner_shipping_id, currency_id, pricelist_id, user_id, team_id,
            state, date_order, currency_rate, amount_untaxed, amount_tax,
            amount_total, invoice_status, locked, require_signature,
            require_payment, prepayment_percent, origin,
            create_uid, write_uid, create_date, write_date)
        SELECT o.id, 'SB' || lpad(o.id::text, 7, '0'), %(company)s,
               o.partner_id, o.partner_id, o.partner_id,
               CASE WHEN o.is_foreign THEN %(foreign)s ELSE %(currency)s END,
               CASE WHEN o.is_foreign THEN NULL ELSE %(pricelist)s::int END,
               %(uid)s, %(team)s::int,
               CASE WHEN o.is_cancelled THEN 'cancel' ELSE 'sale' END,
               o.date_order, o.rate, o.untaxed,
               round(o.untaxed * {TAX_RATE}, 2),
               o.untaxed + round(o.untaxed * {TAX_RATE}, 2),
               CASE WHEN o.is_cancelled THEN 'no'
                    WHEN o.date_order < (now() AT TIME ZONE 'UTC')
                                        - interval '30 days'
                    THEN 'invoiced' ELSE 'to invoice' END,
               FALSE, FALSE, FALSE, 1.0, 'bench',
               %(uid)s, %(uid)s, o.date_order, o.date_order
          FROM (
              SELECT d.id, d.partner_id, d.date_order, d.is_cancelled,
                     d.is_foreign, r.rate,
                     round((d.company_amount * r.rate)::numeric, 2) AS untaxed
                FROM (
                    SELECT nextval('sale_order_id_seq') AS id,
                           CASE WHEN c.has_child
                                     AND random() < {CHILD_ORDER_SHARE}
                                THEN c.child_id ELSE c.partner_id END
                               AS partner_id,
                           c.first_at + (c.last_at - c.first_at) * random()
                               AS date_order,
                           random() < {CANCEL_SHARE} AS is_cancelled,
                           random() < {FOREIGN_SHARE} AS is_foreign,
                           random() AS u_rate,
                           greatest({MEAN_BASKET} * c.basket
                                    * exp({ORDER_SIGMA} * {NORMAL}), 1.0)
                               AS company_amount
                      FROM bench_customer c
                     CROSS JOIN LATERAL generate_series(1, c.order_count)
                    OFFSET 0
                ) d
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN d.is_foreign
                                THEN round((0.85 + 0.1 * d.u_rate)::numeric, 6)
                                ELSE 1.0 END AS rate
                ) r
          ) o
        """,
        ctx,
    )
    return cr.rowcount


def verify_references(cr, first_partner_id, first_order_id):
    """Check set-wise what the skipped foreign key triggers would have checked.

    Every reference the generator writes into a new row must exist.
    """
    checks = {
        "res_partner": (
            first_partner_id,
            {
                "parent_id": "res_partner",
                "commercial_partner_id": "res_partner",
                "create_uid": "res_users",
                "write_uid": "res_users",
            },
        ),
        "sale_order": (
            first_order_id,
            {
                "company_id": "res_company",
                "partner_id": "res_partner",
                "partner_invoice_id": "res_partner",
                "partner_shipping_id": "res_partner",
                "currency_id": "res_currency",
                "pricelist_id": "product_pricelist",
                "user_id": "res_users",
                "team_id": "crm_team",
                "create_uid": "res_users",
                "write_uid": "res_users",
            },
        ),
    }
    for table, (first_id, references) in checks.items():
        for column, target in references.items():
            broken = scalar(
                cr,
                f"""
                SELECT count(*)
                  FROM {table} t
                 WHERE t.id >= %s AND t.{column} IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM {target} x
                                    WHERE x.id = t.{column})
                """,
                [first_id],
            )
            if broken:
                raise RuntimeError(
                    f"{broken} new {table} rows with a dangling {column}"
                )


def summarize(cr, ctx, first_order_id):
    cr.execute(
        """
        SELECT count(*) FILTER (WHERE state = 'sale'),
               count(*) FILTER (WHERE state = 'cancel'),
               count(*) FILTER (WHERE currency_id != %(currency)s),
               min(date_order), max(date_order),
               round(sum(amount_untaxed / currency_rate)
                     FILTER (WHERE state = 'sale'), 2)
          FROM sale_order
         WHERE id >= %(first)s AND origin = 'bench'
        """,
        {**ctx, "first": first_order_id},
    )
    sale, cancel, foreign, first, last, total = cr.fetchone()
    cr.execute(
        """
        SELECT count(*),
               count(*) FILTER (WHERE n = 1),
               percentile_disc(0.5) WITHIN GROUP (ORDER BY n),
               percentile_disc(0.9) WITHIN GROUP (ORDER BY n),
               percentile_disc(0.99) WITHIN GROUP (ORDER BY n),
               max(n)
          FROM (
              SELECT p.commercial_partner_id, count(*) AS n
                FROM sale_order so
                JOIN res_partner p ON p.id = so.partner_id
               WHERE so.id >= %(first)s AND so.origin = 'bench'
                 AND so.state = 'sale'
               GROUP BY p.commercial_partner_id
          ) per_customer
        """,
        {"first": first_order_id},
    )
    buyers, single, median, p90, p99, most = cr.fetchone()
    return [
        f"confirmed orders        {sale:>12,}",
        f"cancelled orders        {cancel:>12,}",
        f"foreign-currency orders {foreign:>12,}",
        f"order dates             {first:%Y-%m-%d} .. {last:%Y-%m-%d}",
        f"confirmed amount        {total:>15,} (company currency, untaxed)",
        f"buying customers        {buyers:>12,} ({single:,} with one order)",
        (f"orders per customer     median {median}, p90 {p90}, p99 {p99}, max {most}"),
    ]


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    timings = []
    started = time.perf_counter()
    conn = psycopg2.connect(dbname=args.db)
    try:
        with conn.cursor() as cr:
            # random() must be drawn in one deterministic order for --seed
            cr.execute("SET max_parallel_workers_per_gather = 0")
            cr.execute("SET synchronous_commit = off")
            cr.execute("SET jit = off")
            if not args.fk_checks:
                # bulk load as pg_restore does: no row-by-row foreign key
                # triggers (superuser only, this session only); the rows are
                # valid by construction and verify_references() checks them
                cr.execute("SET session_replication_role = replica")
            check_required_columns(cr, "res_partner", PARTNER_COLUMNS)
            check_required_columns(cr, "sale_order", ORDER_COLUMNS)
            ctx = load_context(cr, args)
            cr.execute(
                "UPDATE res_currency SET active = TRUE WHERE id = %s",
                [ctx["foreign"]],
            )
            # setseed() takes a number in [-1, 1]
            seed = math.sin(args.seed) if args.seed else 0.0
            cr.execute("SELECT setseed(%s)", [seed])
            first_order_id = scalar(
                cr, "SELECT COALESCE(max(id), 0) + 1 FROM sale_order"
            )
            first_partner_id = scalar(
                cr, "SELECT COALESCE(max(id), 0) + 1 FROM res_partner"
            )
            with Step(timings, "draw customers"):
                draw_customers(cr, args)
            with Step(timings, "insert partners"):
                parents, children = insert_partners(cr, ctx)
            with Step(timings, "insert sale orders"):
                orders = insert_orders(cr, ctx)
            if not args.fk_checks:
                with Step(timings, "check references"):
                    verify_references(cr, first_partner_id, first_order_id)
            with Step(timings, "commit"):
                conn.commit()
        conn.autocommit = True
        with conn.cursor() as cr:
            # --before-install: a data migration as users run them, with no
            # VACUUM or ANALYZE after the load (see bench/fresh_load.py)
            if not args.before_install:
                with Step(timings, "VACUUM ANALYZE res_partner, sale_order"):
                    cr.execute("VACUUM ANALYZE res_partner, sale_order")
                with Step(timings, "ANALYZE (whole database)"):
                    cr.execute("ANALYZE")
            lines = summarize(cr, ctx, first_order_id)
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    print()
    print(f"database {args.db}, company {ctx['company']}, seed {args.seed}")
    print(f"customers (commercial)  {parents:>12,}")
    print(f"child contacts          {children:>12,}")
    print(f"sales orders            {orders:>12,}")
    for line in lines:
        print(line)
    for label, seconds in timings:
        print(f"  {label:<40} {seconds:7.1f} s")
    print(f"total {elapsed:.1f} s")


if __name__ == "__main__":
    main()
