"""Benchmark the points ledger and tiers of repeat_customer on a filled database.

Boots Odoo in-process on ``--db`` (filled by ``bench/generate.py``, with the
points ledger filled by ``--setup``) and times, each in its own transaction
rolled back afterwards:

* the daily jobs, each run to completion through its cron method, one call
  after the other as the cron framework does (``_cron_release_points``,
  ``_cron_expire_points``, ``_cron_review_tiers``), with the invariant
  "membership balances == ledger sums" checked before and after each;
* the overhead of points on ``sale.order.action_confirm()``: small
  quotations of existing members confirmed one at a time, alternately with
  ``loyalty_points_enabled`` on and off, median of each.

``--setup`` prepares the database once (memberships, a tier ladder, about
``--lines`` ledger lines spread over the members and their orders, the
balances, a first tier assignment) and stops; see bench/README.md.

Usage::

    python3 bench/points.py --db bench_points --setup
    python3 bench/points.py --db bench_points [--confirmations 200] [--json F]
"""

import argparse
import datetime
import io
import json
import logging
import math
import os
import random
import statistics
import sys
import time
from collections import deque
from contextlib import contextmanager

from _common import OdooBench, add_odoo_arguments, rss_mb

from odoo import SUPERUSER_ID, Command, api

_logger = logging.getLogger("bench.points")

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)

TARGET_JOB_S = 60.0  # each daily job, run to completion
TARGET_CONFIRM_MS = 10.0  # difference of the medians, points on vs off
TARGET_PEAK_MB = 500.0

SETUP_PARAM = "bench.points_setup"
HISTORY_DAYS = 730  # the ledger covers the orders of the last two years
TIERS = (  # name, spend threshold over the tier window, points multiplier
    ("Silver", 500.0, 1.0),
    ("Gold", 2000.0, 1.25),
    ("VIP", 8000.0, 1.5),
)
REDEEM_MIN = 500  # members redeem only once they have this many points
REDEEM_SHARE = 0.3  # ... then on this share of their orders
REDEEM_SPREAD = (0.5, 1.0)  # share of the available balance redeemed
ADJUST_POINTS = (50, 500)  # goodwill adjustments topping the ledger up to --lines
ADJUST_DAYS = 180  # ... dated within the last this many days
PHASES = {"expire": 0, "redeem": 1, "earn": 2, "adjust": 3}  # order in a day
ENTRY_COLUMNS = (
    "tmp_id",
    "membership_id",
    "kind",
    "points",
    "state",
    "available_date",
    "expiry_date",
    "remaining_points",
    "sale_order_id",
    "date",
    "phase",
    "base_amount",
)
CONSUMPTION_COLUMNS = ("source_tmp", "consumer_tmp", "points")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="database to benchmark")
    parser.add_argument(
        "--setup",
        action="store_true",
        help="prepare the database (memberships, tiers, ledger, balances, first "
        "tier assignment; each step skipped when already done) and stop",
    )
    parser.add_argument(
        "--lines",
        type=int,
        default=1000000,
        help="with --setup: ledger lines to create (default: 1000000)",
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="with --setup: random seed (default 42)"
    )
    parser.add_argument(
        "--confirmations",
        type=int,
        default=200,
        help="quotations confirmed one by one, half with points enabled and half "
        "without, alternately (default: 200, 0 to skip)",
    )
    add_odoo_arguments(parser, REPO_DIR)
    args = parser.parse_args(argv)
    if args.lines < 1 or args.confirmations < 0:
        parser.error("--lines must be positive and --confirmations not negative")
    return args


def date_or_null(ordinal):
    return r"\N" if ordinal is None else datetime.date.fromordinal(ordinal).isoformat()


def copy_value(value):
    return r"\N" if value is None else str(value)


class LedgerWriter:
    """Collects the simulated ledger lines and consumptions; counts them only,
    or also streams them to the staging tables with COPY."""

    FLUSH_BYTES = 8 << 20

    def __init__(self, cr=None):
        self.cr = cr
        self.entries = 0
        self.consumptions = 0
        self.kinds = dict.fromkeys(PHASES, 0)
        self.entry_buf = io.StringIO()
        self.consumption_buf = io.StringIO()

    def entry(self, values):
        """``values``: ENTRY_COLUMNS without tmp_id and phase; return the line's
        tmp id. The points left are those at posting: the consumptions written
        later are deducted when the lines are moved to the ledger."""
        self.entries += 1
        self.kinds[values[1]] += 1
        if self.cr is not None:
            row = [str(self.entries), str(values[0]), values[1], str(values[2])]
            row += [values[3], date_or_null(values[4]), date_or_null(values[5])]
            row += [copy_value(values[6]), copy_value(values[7])]
            row += [date_or_null(values[8]), str(PHASES[values[1]])]
            row.append(copy_value(values[9]))
            self.entry_buf.write("\t".join(row) + "\n")
            if self.entry_buf.tell() > self.FLUSH_BYTES:
                self.flush()
        return self.entries

    def consumption(self, source, consumer, points):
        self.consumptions += 1
        if self.cr is not None:
            self.consumption_buf.write(f"{source}\t{consumer}\t{points}\n")

    def flush(self):
        if self.cr is None:
            return
        for table, columns, buf in (
            ("bench_entry", ENTRY_COLUMNS, self.entry_buf),
            ("bench_consumption", CONSUMPTION_COLUMNS, self.consumption_buf),
        ):
            buf.seek(0)
            self.cr.copy_expert(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN", buf, size=1 << 20
            )
            buf.seek(0)
            buf.truncate()


class Simulation:
    """The points history of the members, replayed day by day as the ledger
    would have written it: earned points pending for the return window, then
    available; redemptions on orders taking the points that expire first
    first; expiry of what is left the day after the validity ends (one expiry
    line per member and day, as the daily job posts them). Every job ran up
    to yesterday: points due today are still pending, points whose validity
    ended yesterday are still there."""

    def __init__(self, settings, members, seed):
        self.s = settings
        self.members = members  # [(membership id, [(order, day, amount)])]
        self.seed = seed
        self.today = settings["today"].toordinal()

    def expiry(self, day):
        return self.s["expiry"][day]

    def earn_points(self, amount):
        raw = amount * self.s["per_unit"]
        rounding = self.s["rounding"]
        if rounding == "up":
            return math.ceil(raw - 1e-9)
        if rounding == "half":
            return math.floor(raw + 0.5)
        return math.floor(raw + 1e-9)

    def run(self, keep_share, writer, padding=None):
        """Replay every member, keeping each order in the ledger with
        probability ``keep_share``; ``padding``: {membership id: number of
        goodwill adjustments}. Return {membership id: last redemption day}."""
        last_redeems = {}
        for mid, orders in self.members:
            rng = random.Random(self.seed * 1000003 + mid)
            last_redeems[mid] = self.member(mid, orders, keep_share, rng, writer)
            for _i in range((padding or {}).get(mid, 0)):
                self.adjust(mid, last_redeems[mid], rng, writer)
        return last_redeems

    def member(self, mid, orders, keep_share, rng, writer):
        today = self.today
        pending_days = self.s["pending_days"]
        open_lines = deque()  # [expiry, available day, tmp id, points left]
        last_redeem = None

        def expire_until(day):
            """The expiry jobs of the days up to ``day``."""
            while open_lines and open_lines[0][0] is not None:
                run_day = open_lines[0][0] + 1
                if run_day > day:
                    return
                group = []
                while (
                    open_lines
                    and open_lines[0][0] is not None
                    and open_lines[0][0] < run_day
                ):
                    group.append(open_lines.popleft())
                total = sum(line[3] for line in group)
                if total:
                    tmp = writer.entry(
                        (
                            *(mid, "expire", -total, "available", None, None, 0),
                            *(None, run_day, None),
                        )
                    )
                    for line in group:
                        if line[3]:
                            writer.consumption(line[2], tmp, line[3])

        for order_id, day, amount in orders:
            if rng.random() >= keep_share:
                continue
            expire_until(min(day, today - 1))
            if day < today:
                balance = 0
                for line in open_lines:
                    if line[1] > day:
                        break
                    balance += line[3]
                if balance >= REDEEM_MIN and rng.random() < REDEEM_SHARE:
                    points = int(balance * rng.uniform(*REDEEM_SPREAD))
                    cap = int(
                        amount
                        * self.s["max_redeem_percent"]
                        / 100.0
                        / (self.s["point_value"] or 1.0)
                    )
                    points = min(points, cap)
                    if points >= 1:
                        tmp = writer.entry(
                            (
                                *(mid, "redeem", -points, "available", None, None),
                                *(0, order_id, day, None),
                            )
                        )
                        need = points
                        while need:
                            line = open_lines[0]
                            take = min(line[3], need)
                            line[3] -= take
                            need -= take
                            writer.consumption(line[2], tmp, take)
                            if not line[3]:
                                open_lines.popleft()
                        last_redeem = day
            points = self.earn_points(amount)
            if points < 1:
                continue
            available = day + pending_days
            expiry = self.expiry(day)
            tmp = writer.entry(
                (
                    mid,
                    "earn",
                    points,
                    "available" if available < today else "pending",
                    available,
                    expiry,
                    points,
                    order_id,
                    day,
                    round(amount, 2),
                )
            )
            open_lines.append([expiry, available, tmp, points])
        expire_until(today - 1)
        return last_redeem

    def adjust(self, mid, last_redeem, rng, writer):
        """A goodwill adjustment after the member's last redemption (so that
        no redemption skipped it), valid beyond today."""
        first = max(last_redeem or 0, self.today - ADJUST_DAYS)
        day = rng.randint(first, self.today - 1)
        points = rng.randint(*ADJUST_POINTS)
        writer.entry(
            (
                *(mid, "adjust", points, "available", None, self.expiry(day)),
                *(points, None, day, None),
            )
        )


class Bench(OdooBench):
    def __init__(self, args):
        super().__init__(
            args,
            "customer.point.entry",
            f"repeat_customer with the points ledger is not installed in "
            f"database {args.db} (update the module)",
        )
        with self.env() as env:
            company = self.company(env)
            self.tz = company._loyalty_tz()
            self.today = company._loyalty_today()

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    @contextmanager
    def committed_env(self):
        """A superuser environment on a new cursor, committed at the end."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            yield env
            env.flush_all()
            cr.commit()

    def vacuum(self, tables=None):
        """VACUUM ANALYZE what the rolled-back runs (or the setup) touched."""
        tables = tables or (
            "customer_point_entry",
            "customer_point_consumption",
            "customer_membership",
            "customer_tier_change",
            "mail_message",
            "sale_order",
            "sale_order_line",
            "ir_config_parameter",
        )
        self.vacuum_tables(tables)

    def scalar(self, env, query, params=None):
        env.cr.execute(query, params)
        row = env.cr.fetchone()
        return row[0] if row else None

    def member_ids(self, env):
        env.cr.execute(
            "SELECT id FROM customer_membership WHERE company_id = %s ORDER BY id",
            [self.company_id],
        )
        return [row[0] for row in env.cr.fetchall()]

    # ------------------------------------------------------------------
    # setup
    # ------------------------------------------------------------------
    def setup(self):
        steps = []

        def step(label, started, note=""):
            seconds = time.perf_counter() - started
            steps.append((label, seconds, note))
            print(f"  {label:<44} {seconds:8.1f} s  {note}", flush=True)

        print(f"setup of database {self.args.db}, company {self.company_id}")
        started = time.perf_counter()
        with self.committed_env() as env:
            members = self.scalar(
                env,
                "SELECT count(*) FROM customer_membership WHERE company_id = %s",
                [self.company_id],
            )
            if not members:
                env["customer.membership"]._compute_company(self.company(env))
                members = len(self.member_ids(env))
                note = f"{members:,} memberships enrolled"
            else:
                note = f"skipped: {members:,} memberships already"
        step("memberships (_compute_company)", started, note)

        started = time.perf_counter()
        with self.committed_env() as env:
            tiers = env["customer.tier"].search([("company_id", "=", self.company_id)])
            if not tiers:
                tiers = env["customer.tier"].create(
                    [
                        {
                            "name": name,
                            "sequence": 10 * (index + 1),
                            "threshold": threshold,
                            "points_multiplier": multiplier,
                            "company_id": self.company_id,
                        }
                        for index, (name, threshold, multiplier) in enumerate(TIERS)
                    ]
                )
                note = "created " + ", ".join(
                    f"{t.name} {t.threshold:g}" for t in tiers
                )
            else:
                note = f"skipped: {len(tiers)} tiers already"
        step("tier ladder", started, note)

        with self.env() as env:
            lines = self.scalar(
                env,
                "SELECT count(*) FROM customer_point_entry WHERE company_id = %s",
                [self.company_id],
            )
        if lines:
            print(
                f"  ledger: skipped, the company has {lines:,} ledger lines already "
                "(the ledger is only filled on an empty ledger)"
            )
        else:
            self.fill_ledger(step)

        started = time.perf_counter()
        with self.committed_env() as env:
            if self.check(env)["balances_vs_ledger"]:
                # the lines were bulk-loaded by SQL, beside the addon's writer:
                # give the members the ledger's sums once
                env.cr.execute(
                    """
                    WITH sums AS (
                        SELECT membership_id,
                               COALESCE(sum(points)
                                        FILTER (WHERE state = 'available'), 0) AS av,
                               COALESCE(sum(points)
                                        FILTER (WHERE state = 'pending'), 0) AS pe
                          FROM customer_point_entry
                         WHERE company_id = %s GROUP BY membership_id
                    )
                    UPDATE customer_membership m
                       SET points_balance = sums.av, points_pending = sums.pe,
                           has_negative_balance = sums.av < 0
                      FROM sums WHERE m.id = sums.membership_id
                    """,
                    [self.company_id],
                )
                note = f"{env.cr.rowcount:,} members"
            else:
                note = "skipped: the balances match the ledger"
        step("balances (set from the bulk-loaded ledger)", started, note)

        started = time.perf_counter()
        with self.committed_env() as env:
            assigned = self.scalar(
                env,
                "SELECT count(*) FROM customer_membership "
                "WHERE company_id = %s AND tier_id IS NOT NULL",
                [self.company_id],
            )
            if assigned:
                note = f"skipped: {assigned:,} members have a tier already"
            else:
                note = self.assign_tiers(env)
        step("first tier assignment (as of yesterday)", started, note)

        started = time.perf_counter()
        self.vacuum()
        with self.raw_cursor() as conn:
            conn.autocommit = True
            with conn.cursor() as cr:
                cr.execute("ANALYZE")
        step("VACUUM ANALYZE", started)
        print()
        with self.env() as env:
            print(self.describe(self.volumes(env)))

    def load_settings(self, env):
        company = self.company(env)

        def points_expiry_date(company, day):
            return company._loyalty_points_expiry_date(day)

        return {
            "today": self.today,
            "pending_days": company.loyalty_points_pending_days,
            "per_unit": company.loyalty_points_per_unit,
            "rounding": company.loyalty_points_rounding,
            "point_value": company.loyalty_point_value,
            "max_redeem_percent": company.loyalty_points_max_redeem_percent,
            # {earn day: last valid day (ordinals)}, for every day of the history
            "expiry": {
                day: (expiry.toordinal() if expiry else None)
                for day in range(
                    self.today.toordinal() - HISTORY_DAYS - 1,
                    self.today.toordinal() + 1,
                )
                for expiry in [
                    points_expiry_date(company, datetime.date.fromordinal(day))
                ]
            },
            "release": company.loyalty_points_release,
            "uid": env.ref("base.user_admin").id,
        }

    def load_orders(self, cr):
        """The confirmed orders of the last two years of every member, grouped
        by member, in date order."""
        cr.execute(
            """
            SELECT m.id, so.id,
                   (so.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date,
                   so.amount_untaxed / COALESCE(NULLIF(so.currency_rate, 0), 1.0)
              FROM customer_membership m
              JOIN res_partner p ON p.commercial_partner_id = m.partner_id
              JOIN sale_order so ON so.partner_id = p.id
             WHERE m.company_id = %(company)s AND m.state = 'active'
               AND so.company_id = %(company)s AND so.state = 'sale'
               AND so.date_order >= %(since)s
             ORDER BY m.id, 3, so.id
            """,
            {
                "tz": self.tz,
                "company": self.company_id,
                # a day of margin for the time zone, filtered below
                "since": self.today - datetime.timedelta(days=HISTORY_DAYS + 1),
            },
        )
        first = self.today.toordinal() - HISTORY_DAYS + 1
        last = self.today.toordinal()
        members = []
        current = None
        orders = 0
        for mid, order_id, day, amount in cr:
            day = day.toordinal()
            if not first <= day <= last:
                continue
            if mid != current:
                members.append((mid, []))
                current = mid
            members[-1][1].append((order_id, day, float(amount)))
            orders += 1
        return members, orders

    def fill_ledger(self, step):
        """Simulate the ledger in Python (deterministic for --seed), stream it
        with COPY into staging tables, then INSERT it in date order."""
        args = self.args
        with self.env() as env:
            settings = self.load_settings(env)
        if settings["release"] != "confirm":
            sys.exit("the setup simulates the 'confirm' release rule only")
        with self.raw_cursor() as conn:
            with conn.cursor() as cr:
                cr.execute("SET jit = off")
                cr.execute("SET synchronous_commit = off")
                started = time.perf_counter()
                with conn.cursor(name="bench_orders") as orders_cr:
                    orders_cr.itersize = 50000
                    members, orders = self.load_orders(orders_cr)
                step("read the members' orders", started, f"{orders:,} orders")
                simulation = Simulation(settings, members, args.seed)

                # calibrate the share of orders in the programme so that the
                # history makes at most --lines lines, then top up with
                # goodwill adjustments to exactly --lines
                started = time.perf_counter()
                keep_share = 1.0
                for _attempt in range(8):
                    counter = LedgerWriter()
                    simulation.run(keep_share, counter)
                    total = counter.entries
                    if total <= args.lines and (
                        total >= 0.97 * args.lines or keep_share == 1.0
                    ):
                        break
                    keep_share = min(1.0, keep_share * 0.985 * args.lines / total)
                else:
                    sys.exit(f"could not calibrate the ledger to {args.lines} lines")
                padding = self.padding(
                    [mid for mid, _orders in members], args.lines - total
                )
                step(
                    "calibrate the simulation",
                    started,
                    f"{keep_share:.1%} of the orders earn points, "
                    f"{args.lines - total:,} adjustments to top up",
                )

                started = time.perf_counter()
                cr.execute(
                    """
                    CREATE TEMP TABLE bench_entry (
                        tmp_id int, membership_id int, kind varchar,
                        points int, state varchar, available_date date,
                        expiry_date date, remaining_points int,
                        sale_order_id int, date date, phase int,
                        base_amount numeric) ON COMMIT DROP
                    """
                )
                cr.execute(
                    """
                    CREATE TEMP TABLE bench_consumption (
                        source_tmp int, consumer_tmp int, points int)
                    ON COMMIT DROP
                    """
                )
                writer = LedgerWriter(cr)
                simulation.run(keep_share, writer, padding)
                writer.flush()
                del members, simulation
                step(
                    "simulate and COPY to staging",
                    started,
                    f"{writer.entries:,} lines, {writer.consumptions:,} "
                    f"consumptions, {writer.kinds}",
                )
                started = time.perf_counter()
                self.insert_ledger(cr, settings)
                step("INSERT the ledger in date order", started)
                started = time.perf_counter()
                self.verify_ledger(cr)
                cr.execute(
                    """
                    INSERT INTO ir_config_parameter
                           (key, value, create_uid, create_date, write_uid,
                            write_date)
                    VALUES (%s, %s, 1, now() at time zone 'UTC', 1,
                            now() at time zone 'UTC')
                    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
                    """,
                    [
                        SETUP_PARAM,
                        json.dumps(
                            {
                                "today": str(self.today),
                                "seed": args.seed,
                                "lines": writer.entries,
                                "order_share": round(keep_share, 4),
                            }
                        ),
                    ],
                )
                conn.commit()
                step("check references and commit", started)

    def padding(self, member_ids, count):
        """{membership id: goodwill adjustments}: ``count`` spread evenly."""
        rng = random.Random(self.args.seed)
        if count <= 0 or not member_ids:
            return {}
        base, extra = divmod(count, len(member_ids))
        chosen = set(rng.sample(member_ids, extra))
        return {
            mid: base + (1 if mid in chosen else 0)
            for mid in member_ids
            if base or mid in chosen
        }

    def insert_ledger(self, cr, settings):
        """Move the staging rows into the ledger, ids and physical order by
        date as the daily postings would have made them. The row-by-row
        foreign key triggers are skipped (as pg_restore does, superuser
        only) and the references checked set-wise afterwards."""
        cr.execute("SET session_replication_role = replica")
        cr.execute("SELECT nextval('customer_point_entry_id_seq')")
        base = cr.fetchone()[0] - 1
        cr.execute(
            """
            CREATE TEMP TABLE bench_idmap ON COMMIT DROP AS
            SELECT tmp_id, %s + row_number() OVER (
                       ORDER BY date, phase, tmp_id) AS id
              FROM bench_entry
            """,
            [base],
        )
        cr.execute("CREATE INDEX ON bench_idmap (tmp_id)")
        cr.execute("ANALYZE bench_idmap")
        cr.execute(
            """
            INSERT INTO customer_point_entry (
                id, membership_id, company_id, partner_id, kind, points, state,
                release_rule, available_date, expiry_date, remaining_points,
                sale_order_id, date, base_amount, multiplier, user_id,
                create_uid, create_date, write_uid, write_date)
            SELECT i.id, e.membership_id, m.company_id, m.partner_id, e.kind,
                   e.points, e.state,
                   CASE WHEN e.kind = 'earn' THEN %(release)s END,
                   e.available_date, e.expiry_date,
                   e.remaining_points - COALESCE(taken.points, 0),
                   e.sale_order_id, e.date, e.base_amount,
                   CASE WHEN e.kind = 'earn' THEN 1.0 END, u.uid,
                   u.uid, ts.at, u.uid, ts.at
              FROM bench_entry e
              JOIN bench_idmap i ON i.tmp_id = e.tmp_id
              JOIN customer_membership m ON m.id = e.membership_id
              LEFT JOIN (SELECT source_tmp, sum(points) AS points
                           FROM bench_consumption GROUP BY source_tmp) taken
                ON taken.source_tmp = e.tmp_id
             CROSS JOIN LATERAL (
                 SELECT CASE WHEN e.kind = 'expire' THEN 1 ELSE %(uid)s END AS uid
             ) u
             CROSS JOIN LATERAL (
                 SELECT e.date + CASE WHEN e.kind = 'expire' THEN time '03:00'
                                      ELSE time '12:00' END AS at
             ) ts
             ORDER BY i.id
            """,
            {"release": settings["release"], "uid": settings["uid"]},
        )
        cr.execute(
            "SELECT setval('customer_point_entry_id_seq', "
            "(SELECT max(id) FROM customer_point_entry))"
        )
        cr.execute(
            """
            INSERT INTO customer_point_consumption
                   (source_entry_id, consumer_entry_id, points)
            SELECT s.id, c.id, bc.points
              FROM bench_consumption bc
              JOIN bench_idmap s ON s.tmp_id = bc.source_tmp
              JOIN bench_idmap c ON c.tmp_id = bc.consumer_tmp
             ORDER BY c.id, s.id
            """
        )
        cr.execute("SET session_replication_role = DEFAULT")

    def verify_ledger(self, cr):
        """What the skipped foreign key triggers would have checked, and the
        ledger's own invariants."""
        checks = {
            "dangling membership": """
                SELECT count(*) FROM customer_point_entry e
                 WHERE NOT EXISTS (SELECT 1 FROM customer_membership m
                                    WHERE m.id = e.membership_id)""",
            "dangling sale order": """
                SELECT count(*) FROM customer_point_entry e
                 WHERE e.sale_order_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM sale_order so
                                    WHERE so.id = e.sale_order_id)""",
            "dangling consumption": """
                SELECT count(*) FROM customer_point_consumption c
                 WHERE NOT EXISTS (SELECT 1 FROM customer_point_entry e
                                    WHERE e.id = c.source_entry_id)
                    OR NOT EXISTS (SELECT 1 FROM customer_point_entry e
                                    WHERE e.id = c.consumer_entry_id)""",
        }
        for label, query in checks.items():
            cr.execute(query)
            broken = cr.fetchone()[0]
            if broken:
                raise RuntimeError(f"{broken} ledger rows with a {label}")
        problems = self.ledger_check(cr, self.company_id)
        del problems["balances_vs_ledger"]  # refreshed in the next step
        if any(problems.values()):
            raise RuntimeError(f"the simulated ledger is inconsistent: {problems}")

    def assign_tiers(self, env):
        """Review every member's tier as of yesterday (the ladder's first run),
        then spread the days members reached their tier over the past two
        years, so that the benchmarked review is an ordinary day: a day of
        purchases entering and leaving the window, downgrades allowed after
        the minimum stay."""
        company = self.company(env)
        tiers = env["customer.tier"]
        yesterday = self.today - datetime.timedelta(days=1)
        ids = self.member_ids(env)
        size = env["customer.point.entry"]._batch_size()
        changes = 0
        for start in range(0, len(ids), size):
            changes += len(
                tiers._apply_tiers(
                    company, ids[start : start + size], today=yesterday, review=True
                )
            )
        env.flush_all()
        env.cr.execute(
            """
            UPDATE customer_membership m
               SET tier_since_date = %(yesterday)s::date
                   - (abs(hashint4(m.id + %(seed)s)::bigint)
                      %% (1 + LEAST(%(days)s,
                                    %(yesterday)s::date - m.join_date)))::int
             WHERE m.company_id = %(company)s AND m.tier_id IS NOT NULL
               AND m.join_date <= %(yesterday)s::date
            """,
            {
                "yesterday": yesterday,
                "seed": self.args.seed,
                "days": HISTORY_DAYS,
                "company": self.company_id,
            },
        )
        env.cr.execute(
            """
            UPDATE customer_tier_change c
               SET date = m.tier_since_date
              FROM customer_membership m
             WHERE m.id = c.membership_id AND m.company_id = %s
            """,
            [self.company_id],
        )
        env.invalidate_all()
        return f"{changes:,} members reached a tier"

    # ------------------------------------------------------------------
    # figures and checks
    # ------------------------------------------------------------------
    @staticmethod
    def ledger_check(cr, company_id):
        """Mismatches (0 expected): memberships whose balances differ from the
        ledger sums; members whose points left on available lines differ from
        their available points; redemption and expiry lines whose consumption
        rows do not add up to their points."""
        cr.execute(
            """
            WITH sums AS (
                SELECT membership_id,
                       sum(points) FILTER (WHERE state = 'available') AS av,
                       sum(points) FILTER (WHERE state = 'pending') AS pe,
                       sum(remaining_points) FILTER (WHERE state = 'available')
                           AS left_av
                  FROM customer_point_entry
                 WHERE company_id = %(company)s
                 GROUP BY membership_id
            )
            SELECT count(*) FILTER (
                       WHERE COALESCE(m.points_balance, 0)
                                 <> COALESCE(s.av, 0)
                          OR COALESCE(m.points_pending, 0)
                                 <> COALESCE(s.pe, 0)),
                   count(*) FILTER (
                       WHERE COALESCE(s.left_av, 0) <> COALESCE(s.av, 0))
              FROM customer_membership m
              LEFT JOIN sums s ON s.membership_id = m.id
             WHERE m.company_id = %(company)s
            """,
            {"company": company_id},
        )
        balances, left = cr.fetchone()
        cr.execute(
            """
            SELECT count(*)
              FROM customer_point_entry e
              LEFT JOIN (SELECT consumer_entry_id, sum(points) AS points
                           FROM customer_point_consumption
                          GROUP BY consumer_entry_id) c
                ON c.consumer_entry_id = e.id
             WHERE e.company_id = %s AND e.kind IN ('redeem', 'expire')
               AND COALESCE(c.points, 0) <> -e.points
            """,
            [company_id],
        )
        return {
            "balances_vs_ledger": balances,
            "points_left_vs_available": left,
            "untraced_consumers": cr.fetchone()[0],
        }

    def check(self, env):
        env.flush_all()
        return self.ledger_check(env.cr, self.company_id)

    def volumes(self, env):
        today = self.today
        env.cr.execute(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE kind = 'earn'),
                   count(*) FILTER (WHERE kind = 'redeem'),
                   count(*) FILTER (WHERE kind = 'expire'),
                   count(*) FILTER (WHERE kind = 'adjust'),
                   count(*) FILTER (WHERE kind = 'reverse'),
                   count(*) FILTER (WHERE state = 'pending'),
                   count(*) FILTER (WHERE state = 'pending' AND kind = 'earn'
                                      AND available_date <= %(today)s),
                   count(DISTINCT membership_id),
                   count(DISTINCT membership_id) FILTER (
                       WHERE state = 'available' AND remaining_points > 0
                         AND expiry_date < %(today)s),
                   count(*) FILTER (
                       WHERE state = 'available' AND remaining_points > 0
                         AND expiry_date < %(today)s),
                   COALESCE(sum(remaining_points) FILTER (
                       WHERE state = 'available' AND remaining_points > 0
                         AND expiry_date < %(today)s), 0),
                   count(*) FILTER (WHERE remaining_points <> 0),
                   min(date)
              FROM customer_point_entry
             WHERE company_id = %(company)s
            """,
            {"today": today, "company": self.company_id},
        )
        row = env.cr.fetchone()
        names = (
            "lines",
            "earn",
            "redeem",
            "expire",
            "adjust",
            "reverse",
            "pending",
            "due_for_release",
            "members_with_lines",
            "members_to_expire",
            "lines_to_expire",
            "points_to_expire",
            "lines_with_points_left",
            "first_date",
        )
        volumes = dict(zip(names, row, strict=True))
        volumes["consumptions"] = self.scalar(
            env, "SELECT count(*) FROM customer_point_consumption"
        )
        volumes["members"] = len(self.member_ids(env))
        env.cr.execute(
            """
            SELECT t.name->>'en_US', count(m.id)
              FROM customer_tier t
              LEFT JOIN customer_membership m ON m.tier_id = t.id
             WHERE t.company_id = %s
             GROUP BY t.id ORDER BY t.sequence, t.threshold
            """,
            [self.company_id],
        )
        volumes["tiers"] = dict(env.cr.fetchall())
        volumes["today"] = today
        setup = env["ir.config_parameter"].get_param(SETUP_PARAM)
        volumes["setup"] = json.loads(setup) if setup else None
        return volumes

    @staticmethod
    def describe(v):
        tiers = ", ".join(f"{name} {count:,}" for name, count in v["tiers"].items())
        kinds = " / ".join(
            f"{v[kind]:,}" for kind in ("earn", "redeem", "expire", "adjust")
        )
        return "\n".join(
            [
                f"{'members':<44}{v['members']:>12,}",
                f"{'  with ledger lines':<44}{v['members_with_lines']:>12,}",
                f"{'ledger lines':<44}{v['lines']:>12,}",
                f"{'  earn / redeem / expire / adjust':<44}{kinds:>12}",
                f"{'  pending':<44}{v['pending']:>12,}",
                f"{'  with points left':<44}{v['lines_with_points_left']:>12,}",
                f"{'consumption rows':<44}{v['consumptions']:>12,}",
                f"{'lines due for release today':<44}{v['due_for_release']:>12,}",
                f"{'members with points to expire today':<44}"
                f"{v['members_to_expire']:>12,}"
                f" ({v['lines_to_expire']:,} lines, "
                f"{v['points_to_expire']:,} points)",
                f"{'members per tier':<44}{tiers}",
            ]
        )

    # ------------------------------------------------------------------
    # daily jobs
    # ------------------------------------------------------------------
    def due(self, env):
        """Pending lines due for release, and members with points to expire."""
        env.cr.execute(
            """
            SELECT count(*) FILTER (WHERE state = 'pending' AND kind = 'earn'
                                      AND available_date <= %(today)s),
                   count(DISTINCT membership_id) FILTER (
                       WHERE state = 'available' AND remaining_points > 0
                         AND expiry_date < %(today)s)
              FROM customer_point_entry
             WHERE company_id = %(company)s
            """,
            {"company": self.company_id, "today": self.today},
        )
        return dict(zip(("release", "expire"), env.cr.fetchone(), strict=True))

    def run_job(self, label, model, method):
        """Call ``model.method()`` until it returns 0, in one transaction
        rolled back afterwards; check the balances before and after."""
        self.vacuum()
        with self.env() as env:
            before = self.check(env)
            due_before = self.due(env)
            env.cr.execute("SELECT COALESCE(max(id), 0) FROM customer_tier_change")
            last_change = env.cr.fetchone()[0]
            env.cr.execute("SELECT COALESCE(max(id), 0) FROM customer_point_entry")
            last_entry = env.cr.fetchone()[0]
            env.invalidate_all()
            calls = []
            started = time.perf_counter()
            while True:
                call_started = time.perf_counter()
                result = getattr(env[model], method)()
                env.flush_all()
                calls.append((time.perf_counter() - call_started, result))
                if not result:
                    break
                if len(calls) > 1000:
                    raise RuntimeError(f"{label}: still not done after 1000 calls")
            seconds = time.perf_counter() - started
            after = self.check(env)
            env.cr.execute(
                """
                SELECT count(*), count(*) FILTER (WHERE direction = 'up')
                  FROM customer_tier_change WHERE id > %s
                """,
                [last_change],
            )
            changes, ups = env.cr.fetchone()
            env.cr.execute(
                "SELECT count(*) FROM customer_point_entry WHERE id > %s",
                [last_entry],
            )
            new_lines = env.cr.fetchone()[0]
            due = self.due(env)
            # rows this transaction wrote (their xmin is its transaction id)
            env.cr.execute(
                """
                SELECT count(*) FROM customer_membership
                 WHERE company_id = %s
                   AND xmin::text::bigint = txid_current() %% 4294967296
                """,
                [self.company_id],
            )
            rewritten = env.cr.fetchone()[0]
        print(
            f"  {label:<32} {seconds:9.2f} s in {len(calls)} calls "
            f"({', '.join(f'{s:.2f}' for s, _r in calls)})",
            flush=True,
        )
        return {
            "seconds": round(seconds, 3),
            "calls": [{"seconds": round(s, 3), "returned": r} for s, r in calls],
            "new_ledger_lines": new_lines,
            "tier_changes": changes,
            "upgrades": ups,
            "due_before": due_before,
            "due_after": due,
            "memberships_rewritten": rewritten,
            "check_before": before,
            "check_after": after,
            "rss_mb": round(rss_mb(), 1),
        }

    # ------------------------------------------------------------------
    # order confirmation
    # ------------------------------------------------------------------
    def measure_confirmations(self):
        """Confirm --confirmations small quotations of members one by one,
        alternately with points enabled and disabled; time each
        action_confirm() (flush included)."""
        count = self.args.confirmations
        self.vacuum()
        rng = random.Random(self.args.seed)
        with self.env() as env:
            company = self.company(env)
            env.cr.execute(
                """
                SELECT id, partner_id FROM customer_membership
                 WHERE company_id = %s AND state = 'active' ORDER BY id
                """,
                [self.company_id],
            )
            members = rng.sample(env.cr.fetchall(), count + 2)
            products = env["product.product"].create(
                [
                    {
                        "name": f"Bench Points Product {index}",
                        "type": "consu",
                        "list_price": price,
                        "company_id": False,
                    }
                    for index, price in enumerate((12.5, 39.9, 120.0))
                ]
            )
            orders = env["sale.order"].create(
                [
                    {
                        "partner_id": partner_id,
                        "company_id": self.company_id,
                        "order_line": [
                            Command.create(
                                {
                                    "product_id": rng.choice(products).id,
                                    "product_uom_qty": rng.randint(1, 3),
                                }
                            )
                            for _line in range(rng.randint(1, 3))
                        ],
                    }
                    for _mid, partner_id in members
                ]
            )
            env.flush_all()
            timings = {True: [], False: []}
            for index, order_id in enumerate(orders.ids):
                enabled = index % 2 == 0
                company.write({"loyalty_points_enabled": enabled})
                env.flush_all()
                # as in a request: an empty record cache, and the order alone
                # (browsed from ``orders``, it would prefetch every quotation)
                env.invalidate_all()
                order = env["sale.order"].browse(order_id)
                started = time.perf_counter()
                order.action_confirm()
                env.flush_all()
                seconds = time.perf_counter() - started
                if index >= 2:  # the first two warm the caches up
                    timings[enabled].append(seconds * 1000.0)
            env.cr.execute(
                """
                SELECT count(DISTINCT sale_order_id) FILTER (WHERE kind = 'earn'),
                       count(*) FILTER (WHERE kind = 'earn' AND
                                        sale_order_id = ANY(%(disabled)s))
                  FROM customer_point_entry
                 WHERE sale_order_id = ANY(%(all)s)
                """,
                {
                    "all": orders.ids[2:],
                    "disabled": orders.ids[3::2],
                },
            )
            earned, earned_disabled = env.cr.fetchone()
            confirmed = sum(1 for o in orders if o.state == "sale")
            check = self.check(env)
        enabled_ms = statistics.median(timings[True])
        disabled_ms = statistics.median(timings[False])

        def p90(values):
            return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else 0

        result = {
            "confirmations": len(timings[True]) + len(timings[False]),
            "confirmed": confirmed,
            "orders_with_points": earned,
            "disabled_orders_with_points": earned_disabled,
            "enabled_median_ms": round(enabled_ms, 2),
            "disabled_median_ms": round(disabled_ms, 2),
            "difference_ms": round(enabled_ms - disabled_ms, 2),
            "enabled_p90_ms": round(p90(timings[True]), 2),
            "disabled_p90_ms": round(p90(timings[False]), 2),
            "check_after": check,
            "rss_mb": round(rss_mb(), 1),
        }
        print(
            f"  {'confirmations':<32} points on {enabled_ms:.1f} ms, off "
            f"{disabled_ms:.1f} ms (medians of {len(timings[True])} and "
            f"{len(timings[False])})",
            flush=True,
        )
        return result


def target_row(label, value, target, unit):
    ok = value <= target
    return (
        f"{label:<36}{value:>10.2f} {unit:<3} <= {target:<6g}"
        f"{'met' if ok else 'MISSED'}"
    )


def check_text(check):
    if not any(check.values()):
        return "ok"
    return "DIFFER " + ", ".join(f"{k} {v}" for k, v in check.items() if v)


def report(bench, figures):
    f = figures
    lines = [
        f"repeat_customer points benchmark: database {bench.args.db}, company "
        f"{bench.company_id} ({bench.company_name}), today {bench.today}",
        "",
        Bench.describe(f["volumes"]),
        "",
        f"{'daily job (to completion)':<36}{'seconds':>10}     target",
    ]
    for key, label in (
        ("release", "release points (pending->available)"),
        ("expire", "expire points"),
        ("review", "review tiers"),
    ):
        job = f["jobs"][key]
        lines.append(target_row(label, job["seconds"], TARGET_JOB_S, "s"))
        calls = ", ".join(f"{c['seconds']:.2f}" for c in job["calls"])
        lines.append(f"    {len(job['calls'])} calls: {calls} s")
        extra = f"    new ledger lines {job['new_ledger_lines']:,}"
        if key == "review":
            extra += f", tier changes {job['tier_changes']:,} ({job['upgrades']:,} up)"
        extra += f", memberships rewritten {job['memberships_rewritten']:,}"
        if key in job["due_before"]:
            extra += (
                f", due {job['due_before'][key]:,} before / "
                f"{job['due_after'][key]:,} after"
            )
        lines.append(extra)
        lines.append(
            f"    check before: {check_text(job['check_before'])}; after: "
            f"{check_text(job['check_after'])}"
        )
    c = f.get("confirmations")
    if c:
        lines += [
            "",
            f"{'order confirmation':<36}{'median':>10}     p90",
            f"{'  points enabled':<36}{c['enabled_median_ms']:>10.1f} ms  "
            f"{c['enabled_p90_ms']:.1f} ms",
            f"{'  points disabled':<36}{c['disabled_median_ms']:>10.1f} ms  "
            f"{c['disabled_p90_ms']:.1f} ms",
            target_row(
                "  difference of medians", c["difference_ms"], TARGET_CONFIRM_MS, "ms"
            ),
            f"    {c['confirmations']} timed ({c['confirmed']} confirmed), "
            f"{c['orders_with_points']} earned points, "
            f"{c['disabled_orders_with_points']} of them with points disabled "
            f"(0 expected); check after: {check_text(c['check_after'])}",
        ]
    lines += [
        "",
        f"{'memory (MB)':<36}{'value':>10}",
        f"{'  baseline after registry load':<36}{f['baseline_mb']:>10.0f}",
        target_row("  peak at the end", f["peak_mb"], TARGET_PEAK_MB, "MB"),
        "",
        f"machine load (1-min average) before / after: "
        f"{f['load_average_1min'][0]} / {f['load_average_1min'][1]} on "
        f"{os.cpu_count()} CPUs (other work skews the timings)",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    bench = Bench(args)
    logging.getLogger("bench").setLevel(logging.INFO)
    print(f"registry loaded in {bench.registry_load_s:.1f} s", flush=True)
    if args.setup:
        bench.setup()
        return
    with bench.env() as env:
        volumes = bench.volumes(env)
    if not volumes["lines"]:
        sys.exit(f"the ledger of {args.db} is empty: run with --setup first")
    setup = volumes["setup"]
    if setup and setup.get("today") != str(bench.today):
        print(
            f"  note: the ledger was prepared for {setup['today']}, today is "
            f"{bench.today}: the jobs have more than one day of work",
            flush=True,
        )
    print(Bench.describe(volumes), flush=True)
    jobs = {
        "release": bench.run_job(
            "release points", "customer.point.entry", "_cron_release_points"
        ),
        "expire": bench.run_job(
            "expire points", "customer.point.entry", "_cron_expire_points"
        ),
        "review": bench.run_job("review tiers", "customer.tier", "_cron_review_tiers"),
    }
    confirmations = bench.measure_confirmations() if args.confirmations else None
    figures = {
        "database": args.db,
        "company_id": bench.company_id,
        "today": str(bench.today),
        "volumes": volumes,
        "jobs": jobs,
        "confirmations": confirmations,
        "baseline_mb": round(bench.baseline_mb, 1),
        "peak_mb": round(rss_mb(), 1),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "targets": {
            "job_s_max": TARGET_JOB_S,
            "confirm_difference_ms_max": TARGET_CONFIRM_MS,
            "peak_mb_max": TARGET_PEAK_MB,
        },
    }
    print()
    print(report(bench, figures))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(figures, file, indent=2, default=str)
            file.write("\n")


if __name__ == "__main__":
    main()
