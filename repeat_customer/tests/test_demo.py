import os
import subprocess
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import odoo
from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import file_path

from .common import RepeatCustomerCase, coupon_program_vals


@tagged("post_install", "-at_install")
class TestDemoData(RepeatCustomerCase):
    def test_demo_generator_shows_every_segment_and_risk(self):
        """The demo customers populate all eleven segments and all three churn
        risk levels, in the company the generator runs for."""
        tiers = self.env["customer.tier"].create(
            [
                {
                    "name": name,
                    "sequence": seq,
                    "threshold": threshold,
                    "company_id": self.company.id,
                }
                for seq, (name, threshold) in enumerate(
                    [("Silver", 3000), ("Gold", 10000), ("VIP", 30000)]
                )
            ]
        )
        program = self.env["loyalty.program"].create(
            coupon_program_vals(self.company, "Demo voucher", 5.0)
        )
        voucher, gift = self.env["customer.reward"].create(
            [
                {
                    "name": "Demo voucher",
                    "company_id": self.company.id,
                    "points_cost": 500,
                    "program_id": program.id,
                },
                {
                    "name": "Demo gift",
                    "company_id": self.company.id,
                    "points_cost": 0,
                    "program_id": program.id,
                },
            ]
        )
        tiers[1:].write({"reward_id": gift.id})
        self.env["account.chart.template"].try_loading(
            "generic_coa", company=self.company, install_demo=False
        )
        self.assertTrue(self.Membership._demo_generate(customer_count=520))
        memberships = self.Membership.search([("company_id", "=", self.company.id)])
        self.assertGreaterEqual(len(memberships), 500)
        segments = self.env["customer.segment"].search([])
        self.assertEqual(memberships.segment_id, segments)
        self.assertEqual(
            set(memberships.mapped("churn_risk")), {"low", "medium", "high"}
        )
        self.assertTrue(all(m.order_count > 0 for m in memberships))
        self.assertGreater(
            max(memberships.mapped("first_order_date")),
            min(memberships.mapped("first_order_date")),
        )
        # profiles, preferences and recommendations
        profiled = memberships.filtered("profile_category_ids")
        self.assertGreater(len(profiled), 300, "members who bought in the window")
        self.assertGreater(len(memberships.preference_ids), 150)
        self.assertIn("portal", memberships.preference_ids.mapped("source"))
        recommendations = memberships.recommendation_ids
        self.assertEqual(len(recommendations.membership_id), len(memberships))
        # what they buy again first, the popular products they lack after
        first = recommendations.filtered(lambda r: r.rank == 1)
        self.assertGreater(
            len(first.filtered(lambda r: r.reason == "again")), len(first) / 2
        )
        self.assertIn("popular", recommendations.mapped("reason"))
        self.assertTrue(
            all(r.product_id.sale_ok and r.product_id.active for r in recommendations)
        )
        # satisfaction surveys: answered (promoters and detractors, the low
        # ones with a call-back), others still waiting
        surveys = memberships.feedback_ids
        answered = surveys.filtered(lambda f: f.state == "answered")
        self.assertGreater(len(answered), 50)
        today = self.company._loyalty_today()
        self.assertTrue(
            surveys.filtered(lambda f: f.state == "pending" and f.expiry_date >= today)
        )
        self.assertEqual(
            set(answered.mapped("nps_group")), {"promoter", "passive", "detractor"}
        )
        low = answered.filtered("is_low_score")
        self.assertTrue(low)
        self.assertTrue(all(f.activity_ids for f in low))
        self.assertTrue(
            all(f.answer_date.date() >= f.order_id.date_order.date() for f in answered)
        )
        # service requests: the low scores' complaints and others, closed,
        # open, and open past their deadline (escalated)
        requests = self.env["customer.service.request"].search(
            [("company_id", "=", self.company.id)]
        )
        self.assertGreater(len(requests), 40)
        self.assertTrue(requests.filtered("feedback_id"))
        closed = requests.filtered("is_closed")
        self.assertGreater(len(closed), 20)
        self.assertTrue(all(r.close_date > r.create_date for r in closed))
        self.assertTrue(all(r.resolution_hours > 0 for r in closed))
        self.assertTrue(requests.filtered(lambda r: not r.is_closed))
        overdue = requests.filtered("is_overdue")
        self.assertTrue(overdue)
        self.assertTrue(all(r.escalation for r in overdue))
        self.assertTrue(all(r.user_id for r in requests))
        self.assertTrue(closed.filtered("point_entry_id"))
        # the points history: earned, released, expired and spent; every tier
        # has members and balances are the ledger's sums
        self.assertEqual(memberships.tier_id, tiers)
        entries = self.env["customer.point.entry"].search(
            [("company_id", "=", self.company.id)]
        )
        # (adjustments: complaints compensated)
        self.assertEqual(
            set(entries.mapped("kind")), {"earn", "expire", "redeem", "adjust"}
        )
        self.assertGreater(len(memberships.filtered("points_balance")), 200)
        self.env.cr.execute(
            """
            SELECT count(*) FROM customer_membership m
              LEFT JOIN (SELECT membership_id,
                                sum(points) FILTER (WHERE state = 'available') av
                           FROM customer_point_entry GROUP BY membership_id) l
                ON l.membership_id = m.id
             WHERE m.company_id = %s AND m.points_balance <> COALESCE(l.av, 0)
            """,
            [self.company.id],
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        self.assertTrue(
            self.env["sale.order"].search(
                [
                    ("company_id", "=", self.company.id),
                    ("state", "=", "draft"),
                    ("order_line.loyalty_point_entry_id", "!=", False),
                ]
            )
        )
        # coupons: tier gifts, redeemed rewards (some used), a win-back batch
        coupons = self.env["customer.coupon"].search(
            [("company_id", "=", self.company.id)]
        )
        self.assertEqual(
            set(coupons.mapped("origin")), {"tier", "reward", "batch", "campaign"}
        )
        self.assertIn("used", coupons.mapped("state"))
        # twelve members redeem the voucher, and the portal demo customer
        # when Odoo's demo data has one
        portal = self.env.ref("base.partner_demo_portal", raise_if_not_found=False)
        redeemed = 12 + (1 if portal else 0)
        self.assertEqual(
            len(coupons.filtered(lambda c: c.origin == "reward")), redeemed
        )
        self.assertFalse(
            self.env["customer.tier.change"].search_count(
                [("reward_state", "=", "to_issue")]
            )
        )
        self.assertEqual(voucher.coupon_count, redeemed)
        # the shipped campaigns, started and replayed: every one reached
        # members and held some out, and the contacted converted more
        campaigns = self.env["customer.campaign"].search(
            [("company_id", "=", self.company.id), ("state", "=", "running")]
        )
        self.assertEqual(len(campaigns), 6)
        for campaign in campaigns:
            with self.subTest(campaign=campaign.name):
                self.assertGreater(campaign.sent_count, 0)
        birthday = campaigns.filtered(lambda c: c.trigger == "birthday")
        self.assertGreater(birthday.control_count, 0)
        self.assertTrue(birthday.has_uplift)
        total = campaigns._results()
        sent = sum(f.get("sent", {}).get("count", 0) for f in total.values())
        converted = sum(f.get("sent", {}).get("converted", 0) for f in total.values())
        control = sum(f.get("control", {}).get("count", 0) for f in total.values())
        control_converted = sum(
            f.get("control", {}).get("converted", 0) for f in total.values()
        )
        self.assertGreater(converted / sent, control_converted / control)
        self.assertFalse(
            self.env["mail.mail"].search_count(
                [("model", "=", "customer.campaign.delivery")]
            )
        )
        # the points liability is posted: an opening entry, daily entries up
        # to yesterday, a liability account that reconciles with the ledger
        self.assertTrue(self.company.loyalty_liability_enabled)
        liability_moves = self.env["customer.liability.move"].search(
            [("company_id", "=", self.company.id)]
        )
        self.assertEqual(len(liability_moves.filtered("is_opening")), 1)
        self.assertGreater(len(liability_moves), 30)
        self.assertEqual(set(liability_moves.move_id.mapped("state")), {"posted"})
        # members spent and lost points month after month, so revenue was
        # recognised through the months posted
        redeem_months = {e.date.replace(day=1) for e in entries if e.kind == "redeem"}
        self.assertGreater(len(redeem_months), 12)
        earning_days = liability_moves.filtered(
            lambda m: m.revenue_amount > 1.0 and not m.is_opening
        )
        self.assertGreater(len(earning_days), 20)
        self.assertIn("Revised", " ".join(filter(None, liability_moves.mapped("note"))))
        yesterday = self.company._loyalty_today() - timedelta(days=1)
        self.assertEqual(self.company.loyalty_liability_posted_date, yesterday)
        report = self.env["customer.liability.report"].create(
            {"company_id": self.company.id, "date": yesterday}
        )
        self.assertGreater(report.ledger_amount, 0)
        self.assertEqual(report.difference_amount, 0.0)
        self.assertEqual(report.unexplained_amount, 0.0)
        # a second call is a no-op: the demo exists
        self.assertFalse(self.Membership._demo_generate(customer_count=520))

    def test_chinese_for_every_kind_of_record(self):
        """What bin/run-demo runs: the language installed with every app
        loaded, so that the records of the addon read Chinese too."""
        self.Membership._demo_load_language("zh_CN")
        zh = self.env(context={"lang": "zh_CN"})
        for xmlid, field, chinese in (
            ("repeat_customer.segment_champions", "name", "冠军客户"),
            ("repeat_customer.segment_new", "name", "新客户"),
            ("repeat_customer.customer_service_stage_new", "name", "新建"),
            ("repeat_customer.customer_service_type_complaint", "name", "投诉"),
            ("repeat_customer.customer_campaign_birthday", "name", "生日优惠券"),
            ("repeat_customer.product_points_discount", "name", "会员积分抵扣"),
        ):
            with self.subTest(xmlid=xmlid):
                self.assertEqual(zh.ref(xmlid)[field], chinese)
        template = zh.ref("repeat_customer.mail_template_campaign_birthday")
        self.assertIn("生日快乐", template.subject)
        # the OCA gender, shipped untranslated, reads Chinese too
        genders = dict(zh["res.partner"]._fields["gender"]._description_selection(zh))
        self.assertEqual(genders["male"], "男")
        self.assertEqual(genders["female"], "女")
        # the English stays English
        self.assertEqual(
            self.env.ref("repeat_customer.segment_new").with_context(lang="en_US").name,
            "New Customers",
        )

    def test_loading_a_language_is_for_administrators(self):
        manager = new_test_user(
            self.env, login="lang_manager", groups="repeat_customer.group_manager"
        )
        with self.assertRaises(AccessError):
            self.Membership.with_user(manager)._demo_load_language("zh_CN")
        with self.assertRaisesRegex(UserError, "Unknown language"):
            self.Membership._demo_load_language("xx_XX")


@tagged("post_install", "-at_install")
class TestDemoDatabaseState(TransactionCase):
    """bin/run-demo serves the demo database only once its creation finished:
    one interrupted (Ctrl+C, a crash) is rebuilt, not served half-made. The
    shell function it asks, against real databases of the server."""

    def _state(self, database):
        script = Path(file_path("repeat_customer")).parent / "bin" / "_common.sh"
        if not script.exists():
            self.skipTest("bin/ is not beside the addon (installed from a package)")
        result = subprocess.run(
            ["bash", "-c", f'source "{script}" && demo_state "$0"', database],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **self._pg_environment()},
        )
        return result.stdout.strip()

    def _pg_environment(self):
        """The connection of the test server, for psql."""
        config = odoo.tools.config
        environment = {}
        for key, option in (
            ("PGHOST", "db_host"),
            ("PGPORT", "db_port"),
            ("PGUSER", "db_user"),
            ("PGPASSWORD", "db_password"),
        ):
            if config.get(option):
                environment[key] = str(config[option])
        return environment

    def _database(self, name):
        """A throw-away database (CREATE DATABASE cannot run in the test's
        transaction), dropped at the end."""
        with closing(odoo.sql_db.db_connect("postgres").cursor()) as cr:
            cr._cnx.autocommit = True
            cr.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cr.execute(f'CREATE DATABASE "{name}"')
        self.addCleanup(self._drop, name)

    def _drop(self, name):
        odoo.sql_db.close_db(name)
        with closing(odoo.sql_db.db_connect("postgres").cursor()) as cr:
            cr._cnx.autocommit = True
            cr.execute(f'DROP DATABASE IF EXISTS "{name}"')

    def test_missing_incomplete_ready(self):
        name = f"rc_demo_state_{os.getpid()}"
        self.assertEqual(self._state(name), "missing")
        self._database(name)
        # created, but Odoo's install never finished
        self.assertEqual(self._state(name), "incomplete")
        with closing(odoo.sql_db.db_connect(name).cursor()) as cr:
            # the throw-away database's own connection, each statement kept
            cr._cnx.autocommit = True
            cr.execute(
                "CREATE TABLE ir_config_parameter (key varchar PRIMARY KEY, value text)"
            )
            # installed, but the language or the mark never came
            self.assertEqual(self._state(name), "incomplete")
            cr.execute(
                "INSERT INTO ir_config_parameter VALUES "
                "('repeat_customer.demo_ready', now()::text)"
            )
        self.assertEqual(self._state(name), "ready")
