"""Benchmark the campaigns of repeat_customer on a filled database.

Boots Odoo in-process on ``--db`` (members enrolled, e.g. by
``bench/points.py --setup`` or the nightly job) and times, in one
transaction rolled back at the end:

* **evaluation when nothing is due**: one campaign of every trigger, all
  active, evaluated over every member of the company after a first run
  queued what was due today: the hourly job's steady state;
* **queueing** ``--due`` due deliveries (a welcome campaign whose members all
  joined today), without rendering a mail;
* **mail rendering**: ``--mails`` deliveries of a campaign mailed with the
  shipped birthday template by the campaign job, side by side with Odoo's own
  mass-mail composer (the engine of Email Marketing's mailings) rendering the
  same template to the same deliveries.

Two thirds of the customers get a birthday (random, seeded) for the run.
Checks: the second evaluation queues nothing, the queueing creates exactly
``--due`` deliveries, both renderings queue one mail per delivery.

Usage::

    python3 bench/campaigns.py --db bench_points [--due 10000] [--mails 1000]
"""

import argparse
import json
import os
import sys

from _common import OdooBench, add_odoo_arguments, rss_mb, timed

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIGGERS = [
    ("birthday", {"days": 3}),
    ("anniversary", {}),
    ("welcome", {}),
    ("tier", {}),
    ("points_expiring", {"days": 14, "is_service": True}),
    ("segment", {"segment": "repeat_customer.segment_at_risk"}),
    ("churn_high", {}),
    ("delivered", {"days": 7}),
    ("inactive", {"days": 90}),
    ("repurchase", {"days": 3}),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="database to benchmark")
    parser.add_argument(
        "--due", type=int, default=10000, help="deliveries to queue (default 10000)"
    )
    parser.add_argument(
        "--mails", type=int, default=1000, help="mails to render (default 1000)"
    )
    add_odoo_arguments(parser, REPO_DIR)
    return parser.parse_args(argv)


def campaign_vals(env, company, template, trigger, extra):
    vals = {
        "name": f"Benchmark {trigger}",
        "company_id": company.id,
        "trigger": trigger,
        "channel": "mail",
        "mail_template_id": template.id,
        "control_share": 10.0,
        "days": extra.get("days", 0),
        "is_service": extra.get("is_service", False),
    }
    if "state" in env["customer.campaign"]._fields:
        vals["state"] = "running"
    if "segment" in extra:
        vals["segment_id"] = env.ref(extra["segment"]).id
    return vals


def main(argv=None):
    args = parse_args(argv)
    bench = OdooBench(
        args,
        "customer.campaign",
        f"repeat_customer 18.0.1.6 is not installed in {args.db}",
    )
    figures = {}
    with bench.env() as env:
        company = bench.company(env)
        env = env(context={"allowed_company_ids": company.ids})
        company.write(
            {
                "loyalty_quiet_hours_start": 0.0,
                "loyalty_quiet_hours_end": 0.0,
                "loyalty_campaign_cap": 0,
            }
        )
        env.cr.execute(
            "SELECT count(*) FROM customer_membership WHERE company_id = %s",
            [company.id],
        )
        members = env.cr.fetchone()[0]
        env.cr.execute("SELECT setseed(0.42)")
        env.cr.execute(
            """
            UPDATE res_partner p
               SET birthdate_date = DATE '1950-01-01' + (random() * 20000)::int
              FROM customer_membership m
             WHERE m.partner_id = p.id AND m.company_id = %s AND random() < 0.67
            """,
            [company.id],
        )
        env.invalidate_all()
        template = env.ref("repeat_customer.mail_template_campaign_birthday")
        campaigns = env["customer.campaign"].create(
            [
                campaign_vals(env, company, template, trigger, extra)
                for trigger, extra in TRIGGERS
            ]
        )
        # the first evaluation of the day queues what is due today (a member
        # gets one occasion of a campaign per run: runs until none is left)
        first = timed(
            figures,
            "first evaluation",
            lambda: sum(c._queue() for c in campaigns),
        )
        passes, left = 1, first
        while left:
            left = sum(c._queue() for c in campaigns)
            first += left
            passes += 1
        env.flush_all()
        again = timed(
            figures,
            "evaluation, nothing due",
            lambda: sum(c._queue() for c in campaigns),
        )
        # queueing: --due members joined today
        env.cr.execute(
            """
            UPDATE customer_membership SET join_date = %s
             WHERE id IN (SELECT id FROM customer_membership
                           WHERE company_id = %s AND state = 'active'
                           ORDER BY id DESC LIMIT %s)
            """,
            [company._loyalty_today(), company.id, args.due],
        )
        env.invalidate_all()
        env.cr.execute(
            """SELECT count(*) FROM customer_membership
                WHERE company_id = %s AND state = 'active' AND join_date = %s""",
            [company.id, company._loyalty_today()],
        )
        expected = env.cr.fetchone()[0]
        welcome = env["customer.campaign"].create(
            dict(
                campaign_vals(env, company, template, "welcome", {}),
                name="Benchmark queueing",
                control_share=0.0,
                catch_up_days=0,
            )
        )
        queued = timed(figures, "queue due deliveries", welcome._queue)
        # mail rendering: the campaign job against Odoo's mass-mail composer
        deliveries = env["customer.campaign.delivery"].search(
            [("campaign_id", "=", welcome.id), ("state", "=", "to_send")],
            limit=2 * args.mails,
            order="id",
        )
        ours, theirs = deliveries[: args.mails], deliveries[args.mails :]
        env.cr.execute(
            "UPDATE customer_campaign_delivery SET state = 'sent' WHERE id = ANY(%s)",
            [theirs.ids],
        )
        env.invalidate_all()

        def count_mails(records):
            env.cr.execute(
                """
                SELECT count(*) FROM mail_mail m
                  JOIN mail_message g ON g.id = m.mail_message_id
                 WHERE g.model = 'customer.campaign.delivery' AND g.res_id = ANY(%s)
                """,
                [records.ids],
            )
            return env.cr.fetchone()[0]

        timed(
            figures,
            "render, campaign job",
            lambda: (
                env["customer.campaign.delivery"]._send_queued(
                    company, limit=args.mails, campaigns=welcome
                )
                and env.flush_all()
            ),
        )
        composer = (
            env["mail.compose.message"]
            .with_context(active_ids=theirs.ids)
            .create(
                {
                    "composition_mode": "mass_mail",
                    "model": "customer.campaign.delivery",
                    "res_ids": theirs.ids,
                    "template_id": template.id,
                }
            )
        )
        timed(
            figures,
            "render, Odoo mass mail",
            lambda: composer._action_send_mail() and env.flush_all(),
        )
        ours_mails, theirs_mails = count_mails(ours), count_mails(theirs)
    checks_ok = (
        again == 0
        and queued == expected
        and ours_mails == len(ours)
        and theirs_mails == len(theirs)
    )
    print(f"campaigns over the {members:,} members of {bench.company_name}")
    print(
        f"  first evaluation, {len(TRIGGERS)} triggers   "
        f"{figures['first evaluation']:8.2f} s ({first:,} queued in {passes} runs)"
    )
    nothing = figures["evaluation, nothing due"]
    print(f"  evaluation, nothing due           {nothing:8.2f} s")
    print(
        f"  queue {queued:,} due deliveries      "
        f"{figures['queue due deliveries']:8.2f} s"
    )
    for name, count in (
        ("render, campaign job", ours_mails),
        ("render, Odoo mass mail", theirs_mails),
    ):
        print(
            f"  {name:<24} {figures[name]:8.2f} s for {count:,} mails "
            f"({count / max(figures[name], 1e-9):.0f} mails/s)"
        )
    print(
        f"checks: nothing queued twice ({again}), {queued:,} queued, "
        f"{ours_mails:,} + {theirs_mails:,} mails: {'ok' if checks_ok else 'FAILED'}"
    )
    print(f"peak memory {rss_mb():.0f} MB")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "members": members,
                    "first_queued": first,
                    "first_passes": passes,
                    "queued": queued,
                    "seconds": figures,
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
