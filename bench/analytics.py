"""Benchmark the retention analytics of repeat_customer.

Boots Odoo in-process on ``--db`` (customers and orders from
``bench/generate.py``) and times, in transactions rolled back at the end:

* **the Loyalty Overview's data** (``customer.overview.get_overview``), the
  whole first screen, cold (first call after the registry loads) and warm
  (the median of ``--repeat`` calls), unfiltered and filtered on a segment;
* **one export** (``--export members|cohorts|rates``): the XLSX file
  rendered the way Odoo's Print menu renders it, its size, rows per second
  and the peak memory of the process (run each export in its own process,
  so that the peak is the export's).

``--setup`` computes the memberships once (enrolment, statistics, RFM,
churn, monthly activity) and commits; the other runs read only.

Usage::

    python3 bench/analytics.py --db bench_a --setup
    python3 bench/analytics.py --db bench_a
    python3 bench/analytics.py --db bench_a --export members
"""

import argparse
import io
import json
import os
import statistics
import time

import openpyxl
from _common import OdooBench, add_odoo_arguments, rss_mb, timed

from odoo import SUPERUSER_ID, api

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_OVERVIEW_S = 1.0  # the overview loads in at most a second
TARGET_EXPORT_S = 60.0  # 200 000 members export in at most a minute
TARGET_EXPORT_MB = 300.0  # with at most 300 MB of memory


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--setup", action="store_true", help="compute the members")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--export", choices=["members", "cohorts", "rates"])
    add_odoo_arguments(parser, REPO_DIR)
    args = parser.parse_args()
    bench = OdooBench(args, "customer.overview", "repeat_customer 1.8 is not installed")
    figures = {
        "registry_load_s": bench.registry_load_s,
        "baseline_mb": bench.baseline_mb,
    }
    if args.setup:
        with bench.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            timed(
                figures,
                "setup_s",
                lambda: env["customer.membership"]._compute_company(bench.company(env)),
            )
            cr.commit()
        bench.vacuum_tables(["customer_membership", "customer_activity_month"])
    with bench.env() as env:
        company = bench.company(env)
        figures["members"] = env["customer.membership"].search_count(
            [("company_id", "=", company.id)]
        )
        figures["activity_rows"] = env["customer.activity.month"].search_count(
            [("company_id", "=", company.id)]
        )
        overview = env["customer.overview"]
        if args.export:
            export = env["customer.analytics.export"].create({"company_id": company.id})
            env.flush_all()
            started = time.perf_counter()
            content, _kind = env["ir.actions.report"]._render_xlsx(
                f"repeat_customer.analytics_{args.export}_xlsx", export.ids, {}
            )
            figures["export_s"] = time.perf_counter() - started
            figures["export_bytes"] = len(content)
            figures["peak_mb"] = rss_mb()
            if args.export == "members":
                figures["rows_per_s"] = figures["members"] / figures["export_s"]
                book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
                figures["rows_in_file"] = book.active.max_row - 5
        else:
            filters = {"company_id": company.id}
            timed(figures, "overview_cold_s", lambda: overview.get_overview(filters))
            warm = []
            for _i in range(args.repeat):
                env.invalidate_all()
                started = time.perf_counter()
                data = overview.get_overview(filters)
                warm.append(time.perf_counter() - started)
            figures["overview_warm_s"] = statistics.median(warm)
            segment = next((s["id"] for s in data["segments"] if s["id"]), False)
            filtered = []
            for _i in range(args.repeat):
                env.invalidate_all()
                started = time.perf_counter()
                overview.get_overview({**filters, "segment_id": segment})
                filtered.append(time.perf_counter() - started)
            figures["overview_segment_s"] = statistics.median(filtered)
            env.invalidate_all()
            started = time.perf_counter()
            overview.get_overview({**filters, "months": 24})
            figures["overview_24_months_s"] = time.perf_counter() - started
    for key, value in figures.items():
        print(
            f"{key:28} {value:,.3f}"
            if isinstance(value, float)
            else f"{key:28} {value:,}"
        )
    checks = []
    if "overview_warm_s" in figures:
        checks.append(
            ("overview ≤ 1 s", figures["overview_warm_s"] <= TARGET_OVERVIEW_S)
        )
    if "export_s" in figures and args.export == "members":
        checks.append(("export ≤ 60 s", figures["export_s"] <= TARGET_EXPORT_S))
        checks.append(("export ≤ 300 MB", figures["peak_mb"] <= TARGET_EXPORT_MB))
        checks.append(
            ("every member in the file", figures["rows_in_file"] == figures["members"])
        )
    for name, ok in checks:
        print(f"{'ok ' if ok else 'MISSED'} {name}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
