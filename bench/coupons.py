"""Benchmark coupon issuing of repeat_customer on a filled database.

Boots Odoo in-process on ``--db`` (prepared by ``bench/points.py --setup``:
members and a tier ladder) and times, in one transaction rolled back at the
end, a coupon batch to every member of a tier, as a manager and the cron
framework would run it:

* the batch form's preview (customers, opted out);
* *Issue Coupons* (the first chunk, in the button's request);
* the background job issuing the rest, one chunk per call;
* the mailing job rendering the programme's coupon mail for each coupon;
* issuing the batch again (it must issue nothing).

Checks: one coupon per member of the tier, one queued mail per coupon, no
code used twice.

Usage::

    python3 bench/coupons.py --db bench_points [--tier VIP] [--json F]
"""

import argparse
import importlib
import json
import os
import sys

from _common import OdooBench, add_odoo_arguments, rss_mb, timed

from odoo import Command

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="database to benchmark")
    parser.add_argument(
        "--tier", default="VIP", help="tier whose members get a coupon (default VIP)"
    )
    add_odoo_arguments(parser, REPO_DIR)
    return parser.parse_args(argv)


def run_to_end(method):
    """Call a cron method until it reports nothing left; return the calls."""
    calls = 1
    while method():
        calls += 1
    return calls


def main(argv=None):
    args = parse_args(argv)
    bench = OdooBench(
        args,
        "customer.coupon.batch",
        f"repeat_customer 18.0.1.2 is not installed in {args.db}",
    )
    figures = {}
    with bench.env() as env:
        company = bench.company(env)
        env = env(context={"allowed_company_ids": company.ids})
        tier = env["customer.tier"].search(
            [("company_id", "=", company.id), ("name", "=", args.tier)], limit=1
        )
        if not tier:
            sys.exit(f"no tier {args.tier} in {company.name}: run points.py --setup")
        template = env.ref("loyalty.mail_template_loyalty_card")
        # the tests' coupon programme: 5 off, mailed with Odoo's coupon mail
        tests_common = importlib.import_module(
            "odoo.addons.repeat_customer.tests.common"
        )
        program = env["loyalty.program"].create(
            tests_common.coupon_program_vals(
                company, "Benchmark voucher", 5.0, template
            )
        )
        batch = env["customer.coupon.batch"].create(
            {
                "name": "Benchmark",
                "company_id": company.id,
                "program_id": program.id,
                "target": "tier",
                "tier_ids": [Command.set(tier.ids)],
            }
        )
        members = timed(figures, "preview", lambda: batch.target_count)
        timed(figures, "issue button", lambda: batch.action_issue() and env.flush_all())
        calls = {}
        calls["issue job"] = timed(
            figures,
            "issue job",
            lambda: run_to_end(env["customer.coupon.batch"]._cron_issue_coupon_batches),
        )
        calls["mailing job"] = timed(
            figures,
            "mailing job",
            lambda: run_to_end(env["customer.coupon"]._cron_send_coupon_mails),
        )
        timed(figures, "issue again", lambda: batch.action_issue() and env.flush_all())
        env.cr.execute(
            """
            SELECT count(*), count(DISTINCT c.membership_id), count(DISTINCT k.code),
                   count(*) FILTER (WHERE c.mail_state = 'sent')
              FROM customer_coupon c JOIN loyalty_card k ON k.id = c.card_id
             WHERE c.batch_id = %s
            """,
            [batch.id],
        )
        coupons, distinct_members, codes, mailed = env.cr.fetchone()
        env.cr.execute(
            """
            SELECT count(*) FROM mail_mail m
              JOIN mail_message g ON g.id = m.mail_message_id
             WHERE g.model = 'loyalty.card' AND g.res_id IN (
                   SELECT card_id FROM customer_coupon WHERE batch_id = %s)
            """,
            [batch.id],
        )
        mails = env.cr.fetchone()[0]
    checks_ok = coupons == distinct_members == members == codes and mails == mailed
    print(f"coupon batch to the {members:,} members of tier {args.tier}")
    for name in ("preview", "issue button", "issue job", "mailing job", "issue again"):
        extra = f" in {calls[name]} calls" if name in calls else ""
        print(f"  {name:<16} {figures[name]:8.2f} s{extra}")
    issue_s = figures["issue button"] + figures["issue job"]
    print(
        f"  per coupon: issuing {1000 * issue_s / max(members, 1):.2f} ms, "
        f"mailing {1000 * figures['mailing job'] / max(mailed, 1):.1f} ms"
    )
    print(
        f"checks: {coupons:,} coupons, {distinct_members:,} members, {codes:,} codes, "
        f"{mailed:,} mailed, {mails:,} mails queued: {'ok' if checks_ok else 'FAILED'}"
    )
    print(f"peak memory {rss_mb():.0f} MB")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "members": members,
                    "seconds": figures,
                    "calls": calls,
                    "checks_ok": checks_ok,
                    "peak_mb": rss_mb(),
                },
                f,
                indent=2,
            )
    if not checks_ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
