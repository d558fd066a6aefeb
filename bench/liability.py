"""Benchmark the points liability postings of repeat_customer.

Boots Odoo in-process on ``--db`` (a points ledger, e.g. from
``bench/points.py --setup``) and times, in one transaction rolled back at
the end:

* **the valuation** of the company's whole ledger (every line valued, summed
  per day, the days valued in order): what every run of the daily job reads;
* **posting from scratch**: enabling the posting ``--days`` days ago, so
  that the job posts an opening entry for the older ledger and a daily entry
  for each of those days but the last;
* **the daily job**: posting the last day, the steady state of a night;
* **the reconciliation** on that day;
* **the movements workpaper** (XLSX, constant-memory mode) of the last
  ``--workpaper-days`` days of the ledger, with its rows per second.

Checks: the reconciliation difference is zero after posting; a second run
posts nothing; every ledger line up to the last day is traced to an entry.

Usage::

    python3 bench/liability.py --db bench_points [--days 30] [--workpaper-days 365]
"""

import argparse
import io
import json
import os
from datetime import timedelta

from _common import OdooBench, add_odoo_arguments, rss_mb, timed

from odoo import Command

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCOUNTS = [
    ("loyalty_liability_account_id", "BL2190", "liability_current"),
    ("loyalty_deferral_account_id", "BL4190", "income"),
    ("loyalty_revenue_account_id", "BL4191", "income"),
    ("loyalty_breakage_account_id", "BL4192", "income_other"),
    ("loyalty_expense_account_id", "BL6190", "expense"),
    ("loyalty_opening_account_id", "BL3190", "equity"),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="database to benchmark")
    parser.add_argument(
        "--days", type=int, default=30, help="days of daily entries (default 30)"
    )
    parser.add_argument(
        "--workpaper-days",
        type=int,
        default=365,
        help="days of ledger movements in the workpaper (default 365)",
    )
    add_odoo_arguments(parser, REPO_DIR)
    return parser.parse_args(argv)


def enable(env, company, start):
    accounts = env["account.account"].with_company(company)
    values = {
        field: accounts.create(
            {
                "code": code,
                "name": f"Benchmark {code}",
                "account_type": account_type,
                "company_ids": [Command.set(company.ids)],
            }
        ).id
        for field, code, account_type in ACCOUNTS
    }
    journal = env["account.journal"].search(
        [("type", "=", "general"), ("company_id", "=", company.id)], limit=1
    )
    env["customer.redemption.rate"].create(
        {
            "company_id": company.id,
            "date_from": start - timedelta(days=3650),
            "rate": 0.6,
        }
    )
    company.write(
        {
            **values,
            "loyalty_liability_journal_id": journal.id,
            "loyalty_liability_start_date": start,
            "loyalty_liability_enabled": True,
        }
    )


def main(argv=None):
    args = parse_args(argv)
    bench = OdooBench(
        args,
        "customer.liability.move",
        f"repeat_customer 18.0.1.7 is not installed in {args.db}",
    )
    figures = {}
    with bench.env() as env:
        company = bench.company(env)
        env = env(context={"allowed_company_ids": company.ids})
        moves = env["customer.liability.move"]
        env.cr.execute(
            "SELECT count(*), max(date) FROM customer_point_entry "
            "WHERE company_id = %s",
            [company.id],
        )
        lines, last_day = env.cr.fetchone()
        start = last_day - timedelta(days=args.days - 1)
        enable(env, company, start)
        timed(figures, "valuation", lambda: moves._valuation(company, last_day))
        records = timed(
            figures,
            "posting from scratch",
            lambda: moves._post_company(company, last_day - timedelta(days=1)),
        )
        env.flush_all()
        daily = timed(
            figures, "daily job", lambda: moves._post_company(company, last_day)
        )
        env.flush_all()
        again = moves._post_company(company, last_day)
        report = env["customer.liability.report"].create(
            {
                "company_id": company.id,
                "date": last_day,
                "date_from": last_day - timedelta(days=args.workpaper_days - 1),
            }
        )
        difference = timed(
            figures, "reconciliation", lambda: report._figures()["difference_amount"]
        )
        env.cr.execute(
            "SELECT count(*) FROM customer_point_entry "
            "WHERE company_id = %s AND liability_move_id IS NULL",
            [company.id],
        )
        untraced = env.cr.fetchone()[0]
        env.cr.execute(
            "SELECT count(*) FROM customer_point_entry "
            "WHERE company_id = %s AND date >= %s",
            [company.id, report.date_from],
        )
        rows = env.cr.fetchone()[0]
        before_mb = rss_mb()
        content, _kind = timed(
            figures,
            "movements workpaper",
            lambda: env["ir.actions.report"]._render_xlsx(
                "repeat_customer.liability_movements_xlsx", report.ids, {}
            ),
        )
        size_mb = len(io.BytesIO(content).getvalue()) / 1e6
    checks_ok = difference == 0 and not again and untraced == 0
    print(f"points liability of {bench.company_name}: {lines:,} ledger lines")
    print(f"  valuation of the whole ledger     {figures['valuation']:8.2f} s")
    print(
        f"  posting from scratch              {figures['posting from scratch']:8.2f} s"
        f" (an opening entry and {len(records) - 1} daily entries)"
    )
    print(
        f"  daily job (one day, {len(daily)} entry)       {figures['daily job']:8.2f} s"
    )
    print(f"  reconciliation                    {figures['reconciliation']:8.2f} s")
    print(
        f"  movements workpaper, {rows:,} rows "
        f"{figures['movements workpaper']:8.2f} s "
        f"({rows / max(figures['movements workpaper'], 1e-9):,.0f} rows/s, "
        f"{size_mb:.1f} MB)"
    )
    print(
        f"checks: difference {difference}, second run posted {len(again)}, "
        f"{untraced} lines untraced: {'ok' if checks_ok else 'FAILED'}"
    )
    print(
        f"peak memory {rss_mb():.0f} MB (before the workpaper {before_mb:.0f} MB; "
        f"registry {bench.baseline_mb:.0f} MB)"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "lines": lines,
                    "entries": len(records),
                    "workpaper_rows": rows,
                    "seconds": figures,
                    "checks_ok": checks_ok,
                    "peak_mb": rss_mb(),
                },
                f,
                indent=2,
            )
    return 0 if checks_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
