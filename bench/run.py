"""Benchmark the customer computation of repeat_customer on a filled database.

Boots Odoo in-process on ``--db`` (filled by ``bench/generate.py``) and
times, on the same data, each measurement in its own transaction rolled back
afterwards (best of ``--repeat`` runs):

* full recompute: ``customer.membership._compute_company(company)``;
* statistics only: ``_update_statistics`` over all memberships in batches,
  the memberships having been enrolled and committed beforehand (untimed;
  those enrolled by the benchmark are deleted at the end);
* floor: the bare SQL aggregation of the same statistics, one
  ``SELECT ... GROUP BY`` whose result is consumed in the database, without
  writing anything;
* naive: the per-customer ORM loop of typical app-store modules (one
  ``search`` of the orders, statistics in Python and one ``write`` per
  membership) on an evenly spread sample of those committed memberships,
  scaled linearly to all memberships. Its figures are compared with the
  set-wise ones on the sample.

Usage::

    python3 bench/run.py --db bench [--naive-sample 1000] [--batch-size 100000]
"""

import argparse
import datetime
import inspect
import json
import logging
import os
import time
from contextlib import contextmanager

import pytz
from _common import OdooBench, rss_mb
from freezegun import freeze_time

import odoo
from odoo import SUPERUSER_ID, api, fields

_logger = logging.getLogger("bench.run")

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)

TARGET_RECOMPUTE_FLOOR = 2.0  # recompute at most 2x the bare aggregation
TARGET_NAIVE_RECOMPUTE = 50.0  # recompute at least 50x faster than naive
TARGET_PEAK_MB = 500.0

# methods of customer.membership, or "model:method", timed separately inside
# the recompute (any that does not exist is skipped)
PHASES = (
    "_analyze_sources",
    "_enrol_from_history",
    "_stats_batch",
    "_update_statistics",
    "_compute_rfm_cutpoints",
    "_fit_churn_model",
    "_update_scores",
    "_write_snapshots",
    "_update_age_bands",
    "customer.activity.month:_due_ids",
    "customer.activity.month:_update_activity",
    "customer.activity.month:_write_lapse_rows",
)

STAT_FIELDS = (
    "first_order_date",
    "last_order_date",
    "order_count",
    "purchase_day_count",
    "total_spent",
    "average_order_value",
    "rfm_frequency",
    "rfm_monetary",
)
MONEY_FIELDS = {"total_spent", "average_order_value", "rfm_monetary"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="database to benchmark")
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=1000,
        help="memberships of the naive ORM loop (default: 1000, 0 to skip)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=100000,
        help="memberships per batch of the set-wise computation (default: 100000, "
        "the addon's default)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="runs of each measurement, the best is kept (default: 2)",
    )
    parser.add_argument(
        "--company-id", type=int, help="company to compute (default: env.company)"
    )
    parser.add_argument(
        "--addons-path",
        default=",".join(
            [os.path.join(os.path.dirname(odoo.__file__), "addons"), REPO_DIR]
        ),
        help="Odoo addons path (default: Odoo's addons and this repository)",
    )
    parser.add_argument(
        "--daily-share",
        type=int,
        default=1000,
        help="the nightly measurement adds a copy of one confirmed order in N, "
        "dated the next day (default 1000: ~0.1 %% of the history, a day of "
        "a shop whose history spans about three years)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--log-level", default="warn", help="Odoo log level (default: warn)"
    )
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.repeat < 1 or args.naive_sample < 0:
        parser.error("--batch-size and --repeat must be positive")
    return args


class Bench(OdooBench):
    def __init__(self, args):
        super().__init__(
            args,
            "customer.membership",
            f"repeat_customer is not installed in database {args.db}",
        )
        with self.env() as env:
            company = self.company(env)
            self.tz = company.partner_id.tz or "UTC"
            self.window_days = company.loyalty_rfm_window_days or 730
            self.today = fields.Date.context_today(
                env["res.partner"].with_context(tz=self.tz)
            )
            model = env["customer.membership"]
            self.tables = [model._table, env["customer.rfm.snapshot"]._table]
            env.cr.execute(
                "SELECT count(*) FROM customer_membership WHERE company_id = %s",
                [self.company_id],
            )
            self.memberships_before = env.cr.fetchone()[0]
            env.cr.execute(
                """
                SELECT count(*), count(DISTINCT p.commercial_partner_id)
                  FROM sale_order so
                  JOIN res_partner p ON p.id = so.partner_id
                 WHERE so.company_id = %s AND so.state = 'sale'
                """,
                [self.company_id],
            )
            self.orders, self.customers = env.cr.fetchone()
        # the nightly measurement runs as the cron does (statistics of the
        # changed members only); measure_weekly switches it off
        self.nightly_mode = True

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def vacuum(self):
        """Remove what the rolled-back runs left in the computed tables."""
        self.vacuum_tables(self.tables)

    def best_of(self, label, measure):
        """Run ``measure(env)`` --repeat times, each in a rolled-back
        transaction; ``measure`` returns (seconds, details). Keep the fastest.
        """
        runs = []
        for attempt in range(self.args.repeat):
            self.vacuum()
            with self.env() as env:
                seconds, details = measure(env, first=attempt == 0)
            print(f"  {label:<32} run {attempt + 1}: {seconds:9.2f} s", flush=True)
            runs.append((seconds, details))
        return min(runs, key=lambda run: run[0])

    def membership_ids(self, env):
        env.cr.execute(
            "SELECT id FROM customer_membership WHERE company_id = %s ORDER BY id",
            [self.company_id],
        )
        return [row[0] for row in env.cr.fetchall()]

    # ------------------------------------------------------------------
    # a. full recompute and statistics only
    # ------------------------------------------------------------------
    @contextmanager
    def phase_timer(self, env):
        """Time the methods of PHASES while inside, by wrapping them on the
        registry classes of their models."""
        totals = {}
        saved = {}

        def wrap(name, method):
            def timed(self, *args, **kwargs):
                started = time.perf_counter()
                try:
                    return method(self, *args, **kwargs)
                finally:
                    totals[name] = totals.get(name, 0.0) + (
                        time.perf_counter() - started
                    )

            return timed

        for phase in PHASES:
            model, _sep, name = phase.rpartition(":")
            model = model or "customer.membership"
            if model not in env.registry:
                continue
            cls = type(env[model])
            method = getattr(cls, name, None)
            if method is None:
                continue
            saved[phase] = (cls, name, cls.__dict__.get(name))
            setattr(cls, name, wrap(name, method))
        try:
            yield totals
        finally:
            for cls, name, original in saved.values():
                if original is None:
                    delattr(cls, name)
                else:
                    setattr(cls, name, original)

    def measure_full(self, env, first):
        model = env["customer.membership"]
        company = self.company(env)
        with self.phase_timer(env) as phases:
            started = time.perf_counter()
            model._compute_company(company, batch_size=self.args.batch_size)
            env.flush_all()
            seconds = time.perf_counter() - started
        env.cr.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE order_count > 0),
                   count(*) FILTER (WHERE segment_id IS NOT NULL),
                   count(*) FILTER (WHERE churn_risk IS NOT NULL)
              FROM customer_membership WHERE company_id = %s
            """,
            [self.company_id],
        )
        total, buying, segmented, with_churn = env.cr.fetchone()
        env.cr.execute(
            "SELECT count(*) FROM customer_rfm_snapshot WHERE company_id = %s",
            [self.company_id],
        )
        snapshots = env.cr.fetchone()[0]
        return seconds, {
            "memberships": total,
            "buying_memberships": buying,
            "segmented": segmented,
            "with_churn_risk": with_churn,
            "snapshots": snapshots,
            "phases": {name: round(s, 3) for name, s in phases.items()},
            "rss_mb": rss_mb(),
        }

    @contextmanager
    def committed_memberships(self):
        """Enrol the company's customers and compute their figures once, then
        commit (untimed): the state a database is in after installation or
        after any nightly run. The measurements that follow start from it;
        what the benchmark created is deleted at the end.
        """
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            cr.execute("SELECT COALESCE(max(id), 0) FROM customer_membership")
            last_id = cr.fetchone()[0]
            env["customer.membership"]._compute_company(
                self.company(env), batch_size=self.args.batch_size
            )
            env.flush_all()
            cr.execute(
                "SELECT id FROM customer_membership WHERE id > %s AND company_id = %s",
                [last_id, self.company_id],
            )
            created = [row[0] for row in cr.fetchall()]
            cr.commit()
        try:
            yield created
        finally:
            if created:
                with self.registry.cursor() as cr:
                    cr.execute(
                        "DELETE FROM customer_membership WHERE id = ANY(%s)",
                        [created],
                    )
                    cr.commit()
                self.vacuum()

    def add_next_day_orders(self, env):
        """Copy one confirmed order in ``--daily-share`` to tomorrow noon: the
        orders of one business day, for the nightly measurement."""
        tomorrow = self.today + datetime.timedelta(days=1)
        env.cr.execute(
            """
            CREATE TEMP TABLE bench_new_orders ON COMMIT DROP AS
            SELECT * FROM sale_order
             WHERE company_id = %s AND state = 'sale' AND id %% %s = 0
            """,
            [self.company_id, self.args.daily_share],
        )
        # written now, as the orders of a day are (confirmed through Odoo)
        env.cr.execute(
            """
            UPDATE bench_new_orders
               SET id = nextval('sale_order_id_seq'),
                   date_order = %s::timestamp,
                   create_date = now() at time zone 'UTC',
                   write_date = now() at time zone 'UTC'
            """,
            [f"{tomorrow} 04:00:00"],
        )
        env.cr.execute("UPDATE bench_new_orders SET name = 'BENCH/' || id")
        env.cr.execute("INSERT INTO sale_order SELECT * FROM bench_new_orders")
        return env.cr.rowcount

    def measure_nightly(self, env, first):
        """The nightly job the next day, as the cron runs it: a day of new
        orders; the statistics of the members whose orders changed or left
        the RFM window recomputed (every member once a week: the full
        recompute, measured by ``measure_full_nightly``), every member
        rescored, only changed rows written."""
        model = env["customer.membership"]
        company = self.company(env)
        new_orders = self.add_next_day_orders(env)
        tomorrow = datetime.datetime.combine(
            self.today + datetime.timedelta(days=1), datetime.time(12, 0)
        )
        # tick: perf_counter keeps running under freezegun; the clock starts
        # and stops inside, as starting freezegun takes a second with Odoo's
        # thousands of modules to patch
        with self.phase_timer(env) as phases, freeze_time(tomorrow, tick=True):
            started = time.perf_counter()
            # the code before 18.0.1.4 recomputes everyone every night
            nightly = (
                {"nightly": self.nightly_mode}
                if "nightly" in inspect.signature(model._compute_company).parameters
                else {}
            )
            model._compute_company(company, batch_size=self.args.batch_size, **nightly)
            env.flush_all()
            seconds = time.perf_counter() - started
        env.cr.execute(
            "SELECT count(*) FROM customer_rfm_snapshot WHERE snapshot_date = %s",
            [tomorrow.date()],
        )
        snapshots = env.cr.fetchone()[0]
        # the members' statistics must equal the floor's of the next day
        today, self.today = self.today, tomorrow.date()
        try:
            check = self.check_against_floor(env)
        finally:
            self.today = today
        return seconds, {
            "check": check,
            "new_orders": new_orders,
            "snapshots_written": snapshots,
            "phases": {name: round(s, 3) for name, s in phases.items()},
            "rss_mb": rss_mb(),
        }

    def measure_weekly(self, env, first):
        """The same night with every member's statistics recomputed from all
        orders, as the cron does once a week."""
        self.nightly_mode = False
        try:
            return self.measure_nightly(env, first)
        finally:
            self.nightly_mode = True

    def measure_statistics(self, env, first):
        model = env["customer.membership"]
        company = self.company(env)
        ids = self.membership_ids(env)
        size = self.args.batch_size
        started = time.perf_counter()
        for start in range(0, len(ids), size):
            model._update_statistics(company, ids[start : start + size])
        env.flush_all()
        seconds = time.perf_counter() - started
        details = {"memberships": len(ids), "rss_mb": rss_mb()}
        if first:
            details["check"] = self.check_against_floor(env)
        return seconds, details

    # ------------------------------------------------------------------
    # b. floor
    # ------------------------------------------------------------------
    def floor_query(self):
        """The statistics of every customer in one GROUP BY, consumed by an
        outer aggregate over all its columns (so none is optimised away)."""
        return (
            """
            SELECT count(*), min(first_day), max(last_day), sum(order_count),
                   sum(day_count), sum(total), sum(window_count),
                   sum(window_total)
              FROM (
                  SELECT p.commercial_partner_id,
                         min(o.day) AS first_day,
                         max(o.day) AS last_day,
                         count(*) AS order_count,
                         count(DISTINCT o.day) AS day_count,
                         sum(o.amount) AS total,
                         count(*) FILTER (WHERE o.day > %(window_start)s)
                             AS window_count,
                         sum(o.amount) FILTER (WHERE o.day > %(window_start)s)
                             AS window_total
                    FROM sale_order so
                    JOIN res_partner p ON p.id = so.partner_id
                   CROSS JOIN LATERAL (
                       SELECT (so.date_order AT TIME ZONE 'UTC'
                               AT TIME ZONE %(tz)s)::date AS day,
                              so.amount_untaxed
                                  / COALESCE(NULLIF(so.currency_rate, 0), 1.0)
                                  AS amount
                   ) o
                   WHERE so.company_id = %(company)s AND so.state = 'sale'
                   GROUP BY p.commercial_partner_id
              ) stats
            """,
            {
                "company": self.company_id,
                "tz": self.tz,
                "window_start": self.today - datetime.timedelta(days=self.window_days),
            },
        )

    def measure_floor(self, env, first):
        query, params = self.floor_query()
        started = time.perf_counter()
        env.cr.execute(query, params)
        row = env.cr.fetchone()
        seconds = time.perf_counter() - started
        return seconds, {"customers": row[0], "rss_mb": rss_mb()}

    def check_against_floor(self, env):
        """Compare the totals of the memberships' statistics with the floor's."""
        query, params = self.floor_query()
        env.cr.execute(query, params)
        floor = env.cr.fetchone()
        env.cr.execute(
            """
            SELECT count(*), min(first_order_date), max(last_order_date),
                   sum(order_count), sum(purchase_day_count), sum(total_spent),
                   sum(rfm_frequency), sum(rfm_monetary)
              FROM customer_membership
             WHERE company_id = %s AND order_count > 0
            """,
            [self.company_id],
        )
        members = env.cr.fetchone()
        names = (
            "customers",
            "first_day",
            "last_day",
            "orders",
            "days",
            "total",
            "window_orders",
            "window_total",
        )
        differences = {}
        for name, expected, got in zip(names, floor, members, strict=True):
            if name in ("total", "window_total"):
                same = abs(float(expected or 0) - float(got or 0)) <= 0.01 * max(
                    floor[0], 1
                )
            else:
                same = expected == got
            if not same:
                differences[name] = {"floor": str(expected), "memberships": str(got)}
        return differences

    # ------------------------------------------------------------------
    # c. naive
    # ------------------------------------------------------------------
    def naive_loop(self, env, memberships):
        """What an app-store module typically does, one customer at a time."""
        company = self.company(env)
        tz = pytz.timezone(self.tz)
        today = self.today
        window_start = today - datetime.timedelta(days=self.window_days)
        for membership in memberships:
            partner = membership.partner_id
            orders = env["sale.order"].search(
                [
                    ("partner_id", "child_of", partner.id),
                    ("state", "=", "sale"),
                    ("company_id", "=", company.id),
                ]
            )
            days = []
            total = window_total = 0.0
            window_count = 0
            for order in orders:
                day = pytz.utc.localize(order.date_order).astimezone(tz).date()
                amount = order.amount_untaxed / (order.currency_rate or 1.0)
                days.append(day)
                total += amount
                if day > window_start:
                    window_count += 1
                    window_total += amount
            count = len(orders)
            last = max(days) if days else False
            membership.write(
                {
                    "first_order_date": min(days) if days else False,
                    "last_order_date": last,
                    "order_count": count,
                    "purchase_day_count": len(set(days)),
                    "total_spent": total,
                    "average_order_value": total / count if count else 0.0,
                    "rfm_frequency": window_count,
                    "rfm_monetary": window_total,
                }
            )

    def read_stats(self, env, ids):
        env.flush_all()
        env.cr.execute(
            f"SELECT id, {', '.join(STAT_FIELDS)} FROM customer_membership "
            "WHERE id = ANY(%s)",
            [ids],
        )
        return {row[0]: row[1:] for row in env.cr.fetchall()}

    def measure_naive(self, env, first):
        model = env["customer.membership"]
        company = self.company(env)
        ids = self.membership_ids(env)
        step = max(1, len(ids) // max(self.args.naive_sample, 1))
        sample = ids[::step][: self.args.naive_sample]
        env.invalidate_all()
        started = time.perf_counter()
        self.naive_loop(env, model.browse(sample))
        env.flush_all()
        seconds = time.perf_counter() - started
        details = {"sample": len(sample), "memberships": len(ids)}
        if first:
            # same figures as the set-wise computation?
            naive = self.read_stats(env, sample)
            model._update_statistics(company, sample)
            env.invalidate_all()
            setwise = self.read_stats(env, sample)
            details["mismatches"] = self.compare(naive, setwise)
        return seconds, details

    def compare(self, naive, setwise):
        mismatches = []
        for membership_id, values in naive.items():
            other = setwise.get(membership_id)
            for name, a, b in zip(STAT_FIELDS, values, other, strict=True):
                if name in MONEY_FIELDS:
                    same = abs(float(a or 0) - float(b or 0)) <= 0.01
                else:
                    same = a == b or (not a and not b)
                if not same:
                    mismatches.append(
                        {
                            "membership": membership_id,
                            "field": name,
                            "naive": str(a),
                            "setwise": str(b),
                        }
                    )
        return mismatches


def ratio(numerator, denominator):
    return numerator / denominator if numerator and denominator else None


def target_row(label, value, target, at_most=True, digits=2):
    """One line of the table: label, value, target and whether it is met."""
    if value is None:
        return f"{label:<34}{'n/a':>12}"
    if target is None:
        return f"{label:<34}{value:>12.{digits}f}"
    ok = value <= target if at_most else value >= target
    sign = "<=" if at_most else ">="
    return (
        f"{label:<34}{value:>12.{digits}f}   {sign} {target:<7g}"
        f"{'met' if ok else 'MISSED'}"
    )


def report(bench, figures):
    f = figures
    args = bench.args
    title = (
        f"repeat_customer benchmark: database {args.db}, company "
        f"{bench.company_id} ({bench.company_name}), batch size "
        f"{args.batch_size}, best of {args.repeat}"
    )
    lines = [
        title,
        "",
        f"{'customers (buying, commercial)':<34}{f['customers']:>12,}",
        f"{'confirmed orders':<34}{f['orders']:>12,}",
        f"{'memberships':<34}{f['memberships']:>12,}",
        "",
        f"{'figure':<34}{'seconds':>12}",
        f"{'first computation (install)':<34}{f['recompute_s']:>12.2f}",
    ]
    for name, seconds in f["recompute_phases"].items():
        lines.append(f"{'  ' + name:<34}{seconds:>12.2f}")
    nightly = f"nightly recompute (+{f['nightly_new_orders']:,} orders)"
    lines.append(f"{nightly:<34}{f['nightly_s']:>12.2f}")
    for name, seconds in f["nightly_phases"].items():
        lines.append(f"{'  ' + name:<34}{seconds:>12.2f}")
    other = f["nightly_s"] - sum(f["nightly_phases"].values())
    lines.append(f"{'  other (batches, ORM, flush)':<34}{other:>12.2f}")
    snapshots = "  snapshots written (changed)"
    lines.append(f"{snapshots:<34}{f['nightly_snapshots_written']:>12,}")
    lines.append(f"{'weekly full recompute (same night)':<34}{f['weekly_s']:>12.2f}")
    for name, seconds in f["weekly_phases"].items():
        lines.append(f"{'  ' + name:<34}{seconds:>12.2f}")
    lines.append(f"{'statistics only':<34}{f['statistics_s']:>12.2f}")
    lines.append(f"{'floor (bare SQL aggregation)':<34}{f['floor_s']:>12.2f}")
    if f["naive_sample"]:
        sample = f"naive ORM loop, {f['naive_sample']:,} sample"
        scaled = f"naive scaled to {f['memberships']:,}"
        lines.append(f"{sample:<34}{f['naive_sample_s']:>12.2f}")
        lines.append(f"{scaled:<34}{f['naive_scaled_s']:>12.1f}")
    lines += [
        "",
        f"{'ratio':<34}{'value':>12}   target",
        target_row(
            "nightly recompute / floor",
            f["recompute_floor_ratio"],
            TARGET_RECOMPUTE_FLOOR,
            at_most=True,
        ),
        target_row("weekly full recompute / floor", f["weekly_floor_ratio"], None),
        target_row("statistics only / floor", f["statistics_floor_ratio"], None),
        target_row("first computation / floor", f["first_floor_ratio"], None),
        target_row(
            "naive scaled / nightly recompute",
            f["naive_recompute_ratio"],
            TARGET_NAIVE_RECOMPUTE,
            at_most=False,
        ),
        target_row("naive scaled / first computation", f["naive_first_ratio"], None),
        "",
        f"{'memory (MB)':<34}{'value':>12}   target",
        f"{'baseline after registry load':<34}{f['baseline_mb']:>12.0f}",
        target_row(
            "peak after set-wise measurements",
            f["peak_setwise_mb"],
            TARGET_PEAK_MB,
            at_most=True,
            digits=0,
        ),
        f"{'peak at the end (with naive)':<34}{f['peak_mb']:>12.0f}",
        "",
    ]
    load_before, load_after = f["load_average_1min"]
    lines.append(
        f"machine load (1-min average) before / after: {load_before} / "
        f"{load_after} on {os.cpu_count()} CPUs (other work skews the timings)"
    )
    floor_check = f["checks"]["floor"]
    lines.append(
        "check: memberships vs floor totals: "
        + ("identical" if not floor_check else f"DIFFER {floor_check}")
    )
    for key, label in (("nightly_floor", "nightly"), ("weekly_floor", "weekly")):
        check = f["checks"][key]
        lines.append(
            f"check: memberships after the {label} run vs the next day's floor: "
            + ("identical" if not check else f"DIFFER {check}")
        )
    if f["naive_sample"]:
        mismatches = f["checks"]["naive"]
        lines.append(
            "check: naive vs set-wise statistics of the sample: "
            + (
                "identical"
                if not mismatches
                else f"{len(mismatches)} DIFFERENCES, e.g. {mismatches[:3]}"
            )
        )
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    bench = Bench(args)
    logging.getLogger("bench").setLevel(logging.INFO)
    print(
        f"registry loaded in {bench.registry_load_s:.1f} s, "
        f"{bench.customers:,} customers, {bench.orders:,} confirmed orders, "
        f"{bench.memberships_before:,} memberships before",
        flush=True,
    )
    if bench.memberships_before:
        print(
            "  note: memberships exist already, the full recompute updates them "
            "instead of enrolling",
            flush=True,
        )
    full_s, full = bench.best_of("full recompute", bench.measure_full)
    floor_s, _floor = bench.best_of("floor", bench.measure_floor)
    naive_s = naive_scaled = None
    naive = {"sample": 0, "mismatches": []}
    with bench.committed_memberships() as created:
        if created:
            print(
                f"  ({len(created):,} memberships enrolled and committed for the "
                "next measurements, deleted afterwards)",
                flush=True,
            )
        nightly_s, nightly = bench.best_of("nightly recompute", bench.measure_nightly)
        weekly_s, weekly = bench.best_of("weekly full recompute", bench.measure_weekly)
        stats_s, stats = bench.best_of("statistics only", bench.measure_statistics)
        peak_setwise = rss_mb()
        if args.naive_sample:
            naive_s, naive = bench.best_of("naive (sample)", bench.measure_naive)
            naive_scaled = naive_s * naive["memberships"] / max(naive["sample"], 1)
    memberships = full["memberships"]
    figures = {
        "database": args.db,
        "company_id": bench.company_id,
        "batch_size": args.batch_size,
        "repeat": args.repeat,
        "customers": bench.customers,
        "orders": bench.orders,
        "memberships": memberships,
        "memberships_before": bench.memberships_before,
        "recompute_s": round(full_s, 3),
        "recompute_phases": full["phases"],
        "recompute_result": {
            key: full[key]
            for key in (
                "buying_memberships",
                "segmented",
                "with_churn_risk",
                "snapshots",
            )
        },
        "statistics_s": round(stats_s, 3),
        "floor_s": round(floor_s, 3),
        "naive_sample": naive["sample"],
        "naive_sample_s": round(naive_s, 3) if naive_s is not None else None,
        "naive_scaled_s": round(naive_scaled, 1) if naive_scaled else None,
        "nightly_s": round(nightly_s, 3),
        "nightly_new_orders": nightly["new_orders"],
        "nightly_snapshots_written": nightly["snapshots_written"],
        "nightly_phases": nightly["phases"],
        "weekly_s": round(weekly_s, 3),
        "weekly_phases": weekly["phases"],
        "weekly_floor_ratio": ratio(weekly_s, floor_s),
        "first_floor_ratio": ratio(full_s, floor_s),
        "recompute_floor_ratio": ratio(nightly_s, floor_s),
        "statistics_floor_ratio": ratio(stats_s, floor_s),
        "naive_recompute_ratio": ratio(naive_scaled, nightly_s),
        "naive_first_ratio": ratio(naive_scaled, full_s),
        "baseline_mb": round(bench.baseline_mb, 1),
        "peak_setwise_mb": round(peak_setwise, 1),
        "peak_mb": round(rss_mb(), 1),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "checks": {
            "floor": stats.get("check", {}),
            "nightly_floor": nightly.get("check", {}),
            "weekly_floor": weekly.get("check", {}),
            "naive": naive.get("mismatches", []),
        },
        "targets": {
            "recompute_floor_ratio_max": TARGET_RECOMPUTE_FLOOR,
            "naive_recompute_ratio_min": TARGET_NAIVE_RECOMPUTE,
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
