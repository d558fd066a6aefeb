import contextlib
import importlib.util
from datetime import date, datetime, time, timedelta

import psycopg2.errors
from freezegun import freeze_time

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, TransactionCase, new_test_user, tagged
from odoo.tools import file_path, mute_logger

from odoo.addons.mail.tests.common import MockEmail
from odoo.addons.sms.tests.common import SMSCase

from ..hooks import move_legacy_birthdays
from ..tools.campaigns import (
    celebrated_on,
    control_bucket,
    in_quiet_hours,
    is_control,
    mean_uplift,
    members_per_group_needed,
    proportion_uplift,
)
from .common import RepeatCustomerCase, coupon_program_vals
from .test_concurrency import attempt, race


class Crash(Exception):
    """A worker dying in the middle of a batch."""


class CampaignCase(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "loyalty_quiet_hours_start": 0.0,
                "loyalty_quiet_hours_end": 0.0,
                "loyalty_campaign_cap": 0,
                "email": "shop@example.com",
            }
        )
        cls.Campaign = cls.env["customer.campaign"]
        cls.Delivery = cls.env["customer.campaign.delivery"]
        cls.template = cls.env.ref("repeat_customer.mail_template_campaign_birthday")
        cls.program = cls.env["loyalty.program"].create(
            coupon_program_vals(cls.company, "Campaign gift", 10)
        )

    @classmethod
    def _member(cls, name, **partner_vals):
        partner_vals.setdefault(
            "email", f"{name.lower().replace(' ', '.')}@example.com"
        )
        partner = cls._partner(name, **partner_vals)
        return cls.env["customer.membership"].create(
            {"partner_id": partner.id, "company_id": cls.company.id}
        )

    def _campaign(self, **vals):
        vals = {
            "name": "Test campaign",
            "company_id": self.company.id,
            "trigger": "birthday",
            "days": 0,
            "catch_up_days": 0,
            "channel": "mail",
            "mail_template_id": self.template.id,
            "control_share": 0.0,
            "state": "running",
            **vals,
        }
        return self.Campaign.create(vals)

    def _deliveries(self, campaign):
        return self.Delivery.search([("campaign_id", "=", campaign.id)])


@tagged("post_install", "-at_install")
class TestTriggers(CampaignCase):
    def _due(self, campaign, day):
        """Members due for ``campaign`` on ``day`` (a dry read)."""
        self.env.cr.execute(campaign._due_sql(day))
        return {(row[0], row[1]) for row in self.env.cr.fetchall()}

    def test_birthday_on_its_day_and_29_february(self):
        leap = self._member("Leap Day", birthdate_date=date(2000, 2, 29))
        june = self._member("June", birthdate_date=date(1990, 6, 10))
        campaign = self._campaign()
        self.assertFalse(self._due(campaign, date(2027, 2, 27)))
        # 2027 has no 29 February: the birthday is on the 28th
        self.assertEqual(self._due(campaign, date(2027, 2, 28)), {(leap.id, "2027")})
        self.assertFalse(self._due(campaign, date(2027, 3, 1)))
        # 2028 has one
        self.assertFalse(self._due(campaign, date(2028, 2, 28)))
        self.assertEqual(self._due(campaign, date(2028, 2, 29)), {(leap.id, "2028")})
        # N days before
        campaign.days = 3
        self.assertFalse(self._due(campaign, date(2027, 6, 6)))
        self.assertEqual(self._due(campaign, date(2027, 6, 7)), {(june.id, "2027")})
        self.assertFalse(self._due(campaign, date(2027, 6, 8)))
        # a birthday early in January, N days before, falls in December
        new_year = self._member("New Year", birthdate_date=date(1985, 1, 2))
        self.assertEqual(
            self._due(campaign, date(2027, 12, 30)), {(new_year.id, "2028")}
        )
        # catch up: the job could not run on the day
        campaign.catch_up_days = 2
        self.assertEqual(self._due(campaign, date(2027, 6, 9)), {(june.id, "2027")})
        self.assertFalse(self._due(campaign, date(2027, 6, 10)))

    def test_celebrated_on(self):
        self.assertEqual(celebrated_on(date(2000, 2, 29), 2027), date(2027, 2, 28))
        self.assertEqual(celebrated_on(date(2000, 2, 29), 2028), date(2028, 2, 29))
        self.assertEqual(celebrated_on(date(1990, 6, 10), 2027), date(2027, 6, 10))

    def test_timezone_around_midnight(self):
        member = self._member("Night Owl", birthdate_date=date(1990, 6, 10))
        campaign = self._campaign()
        # 17:30 UTC on 9 June is 01:30 on 10 June in Shanghai
        with freeze_time(datetime(2027, 6, 9, 17, 30)):
            self.company.partner_id.tz = "UTC"
            self.assertEqual(campaign._queue(), 0)
            self.company.partner_id.tz = "Asia/Shanghai"
            self.assertEqual(campaign._queue(), 1)
        delivery = self._deliveries(campaign)
        self.assertEqual(delivery.membership_id, member)
        self.assertEqual(delivery.delivery_date, date(2027, 6, 10))
        self.assertEqual(delivery.occurrence_key, "2027")

    def test_points_expiring_boundary(self):
        soon = self._member("Soon")
        later = self._member("Later")
        entries = self.env["customer.point.entry"]
        entries._post_adjustment(
            soon, 300, "seed", expiry_date=self.today + timedelta(days=14)
        )
        entries._post_adjustment(
            later, 300, "seed", expiry_date=self.today + timedelta(days=15)
        )
        campaign = self._campaign(trigger="points_expiring", days=14, is_service=True)
        key = f"expiry-{self.today + timedelta(days=14)}"
        self.assertEqual(self._due(campaign, self.today), {(soon.id, key)})

    def test_event_triggers(self):
        today = self.today
        welcome = self._member("Newcomer")
        anniversary = self._member("Old Friend")
        anniversary.join_date = today.replace(year=today.year - 2)
        self.assertEqual(
            self._due(self._campaign(trigger="welcome"), today),
            {(welcome.id, "joined")},
        )
        self.assertIn(
            (anniversary.id, str(today.year)),
            self._due(self._campaign(trigger="anniversary"), today),
        )
        # an upgrade reached (a downgrade is no occasion)
        tier = self.env["customer.tier"].create(
            {"name": "Gold", "company_id": self.company.id, "threshold": 1}
        )
        upgrade = self.env["customer.tier.change"].create(
            {
                "membership_id": welcome.id,
                "date": today,
                "to_tier_id": tier.id,
                "direction": "up",
                "reason": "qualified",
            }
        )
        self.env["customer.tier.change"].create(
            {
                "membership_id": anniversary.id,
                "date": today,
                "from_tier_id": tier.id,
                "direction": "down",
                "reason": "review",
            }
        )
        self.assertEqual(
            self._due(self._campaign(trigger="tier", tier_id=tier.id), today),
            {(welcome.id, f"tier-change-{upgrade.id}")},
        )
        # entered At risk yesterday, still there; days=1
        at_risk = self.env.ref("repeat_customer.segment_at_risk")
        loyal = self.env.ref("repeat_customer.segment_loyal")
        self.env["customer.rfm.snapshot"].create(
            {
                "membership_id": anniversary.id,
                "company_id": self.company.id,
                "snapshot_date": today - timedelta(days=1),
                "segment_id": at_risk.id,
                "previous_segment_id": loyal.id,
                "has_segment_changed": True,
            }
        )
        self.env.cr.execute(
            "UPDATE customer_membership SET segment_id = %s, churn_risk = 'high',"
            " churn_risk_date = %s WHERE id = %s",
            [at_risk.id, today - timedelta(days=2), anniversary.id],
        )
        self.env["customer.membership"].invalidate_model()
        segment = self._campaign(trigger="segment", segment_id=at_risk.id, days=1)
        self.assertEqual(
            self._due(segment, today),
            {(anniversary.id, f"segment-{today - timedelta(days=1)}")},
        )
        churn = self._campaign(trigger="churn_high", days=2)
        self.assertEqual(
            self._due(churn, today),
            {(anniversary.id, f"churn-{today - timedelta(days=2)}")},
        )
        self.assertFalse(self._due(churn, today + timedelta(days=1)))

    def test_order_triggers(self):
        regular = self._member("Regular")
        partner = regular.partner_id
        self._order(partner, 100, days_ago=40)
        delivered = self._order(partner, 100, days_ago=20)
        self._compute()
        self.assertEqual(regular.purchase_day_count, 2)
        # every 20 days: due again today
        self.assertEqual(regular.next_purchase_date, self.today)
        self.assertEqual(
            self._due(self._campaign(trigger="repurchase"), self.today),
            {(regular.id, f"repurchase-{self.today - timedelta(days=20)}")},
        )
        self.assertEqual(
            self._due(self._campaign(trigger="inactive", days=20), self.today),
            {(regular.id, f"inactive-{self.today - timedelta(days=20)}")},
        )
        self.assertFalse(
            self._due(self._campaign(trigger="inactive", days=21), self.today)
        )
        if "effective_date" in delivered._fields:
            # with Inventory, an order is delivered when its delivery is done
            self.assertFalse(
                self._due(self._campaign(trigger="delivered", days=20), self.today)
            )
            self._deliver(delivered)
            self.assertEqual(delivered.effective_date, delivered.date_order)
        after = self._campaign(trigger="delivered", days=20)
        self.assertEqual(
            self._due(after, self.today), {(regular.id, f"order-{delivered.id}")}
        )


@tagged("post_install", "-at_install")
class TestGuards(CampaignCase):
    def test_consent_and_blacklists(self):
        fine = self._member("Fine")
        shy = self._member("Shy")
        shy.marketing_opt_out = True
        listed = self._member("Listed")
        self.env["mail.blacklist"].create({"email": listed.partner_id.email})
        mute = self._member("Mute", email=False)
        for member in fine | shy | listed | mute:
            member.partner_id.birthdate_date = self.today.replace(year=1990)
        campaign = self._campaign(coupon_program_id=self.program.id)
        campaign.action_run_now()
        outcome = {
            d.membership_id: (d.state, d.skip_reason)
            for d in self._deliveries(campaign)
        }
        self.assertEqual(
            outcome,
            {
                fine: ("sent", False),
                shy: ("skipped", "opt_out"),
                listed: ("skipped", "blacklisted"),
                mute: ("skipped", "no_email"),
            },
        )
        # only the one reached got a coupon
        self.assertEqual(
            self.env["customer.coupon"]
            .search([("origin", "=", "campaign")])
            .membership_id,
            fine,
        )

    def test_sms_blacklist_and_missing_number(self):
        texted = self._member("Texted", phone="+32 470 12 34 56")
        listed = self._member("Listed", phone="+32 470 65 43 21")
        silent = self._member("Silent")
        self.env["phone.blacklist"].sudo().add(listed.partner_id.phone_sanitized)
        for member in texted | listed | silent:
            member.join_date = self.today
        campaign = self._campaign(
            trigger="welcome",
            channel="sms",
            mail_template_id=False,
            sms_template_id=self.env.ref(
                "repeat_customer.sms_template_campaign_points_expiring"
            ).id,
        )
        campaign._queue()
        outcome = {
            d.membership_id: (d.state, d.skip_reason)
            for d in self._deliveries(campaign)
        }
        self.assertEqual(outcome[texted], ("to_send", False))
        self.assertEqual(outcome[listed], ("skipped", "blacklisted"))
        self.assertEqual(outcome[silent], ("skipped", "no_phone"))

    def test_frequency_cap_across_campaigns(self):
        self.company.write({"loyalty_campaign_cap": 1, "loyalty_campaign_cap_days": 30})
        member = self._member("Popular", birthdate_date=self.today.replace(year=1990))
        first = self._campaign(name="Birthday")
        second = self._campaign(name="Welcome", trigger="welcome")
        service = self._campaign(name="Reminder", trigger="welcome", is_service=True)
        (first | second | service)._run(send_limit=None)
        state = {c: self._deliveries(c) for c in first | second | service}
        self.assertEqual(state[first].state, "sent")
        self.assertEqual(state[second].state, "skipped")
        self.assertEqual(state[second].skip_reason, "frequency_cap")
        # a service message is neither held back nor counted
        self.assertEqual(state[service].state, "sent")
        self.assertFalse(state[service].counts_in_cap)
        # once the period is over the member can be reached again
        self.Delivery.search([("membership_id", "=", member.id)]).write(
            {"delivery_date": self.today - timedelta(days=30)}
        )
        third = self._campaign(name="Again", trigger="welcome")
        third._run(send_limit=None)
        self.assertEqual(self._deliveries(third).state, "sent")

    def test_quiet_hours(self):
        self.assertTrue(in_quiet_hours(22.5, 21, 9))
        self.assertTrue(in_quiet_hours(3, 21, 9))
        self.assertFalse(in_quiet_hours(9, 21, 9))
        self.assertFalse(in_quiet_hours(20.99, 21, 9))
        self.assertTrue(in_quiet_hours(13, 12, 14))
        self.assertFalse(in_quiet_hours(13, 0, 0))
        self._member("Sleeper", birthdate_date=self.today.replace(year=1990))
        mail = self._campaign()
        points = self._campaign(
            name="Points only", channel="none", mail_template_id=False, bonus_points=5
        )
        self.company.partner_id.tz = "Asia/Shanghai"
        # 23:00 in Shanghai is 15:00 UTC
        with freeze_time(datetime.combine(self.today, time(15, 0))):
            self.company.write(
                {"loyalty_quiet_hours_start": 21.0, "loyalty_quiet_hours_end": 9.0}
            )
            (mail | points)._run(send_limit=None)
        self.assertEqual(self._deliveries(mail).state, "to_send")
        # points without a message go at any hour
        self.assertEqual(self._deliveries(points).state, "sent")
        # 10:00 in Shanghai
        with freeze_time(datetime.combine(self.today, time(2, 0))):
            mail._run(send_limit=None)
        self.assertEqual(self._deliveries(mail).state, "sent")

    def test_dry_run_writes_nothing(self):
        self._member("Reached", birthdate_date=self.today.replace(year=1990))
        shy = self._member("Shy", birthdate_date=self.today.replace(year=1991))
        shy.marketing_opt_out = True
        campaign = self._campaign(
            coupon_program_id=self.program.id,
            bonus_points=10,
            activity_type_id=self.env.ref("mail.mail_activity_data_call").id,
        )

        def counts():
            return [
                self.env[model].search_count([])
                for model in (
                    "customer.campaign.delivery",
                    "customer.coupon",
                    "loyalty.card",
                    "customer.point.entry",
                    "mail.mail",
                    "mail.activity",
                )
            ]

        before = counts()
        action = campaign.action_dry_run()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        self.assertEqual(counts(), before)
        self.assertEqual((wizard.to_send_count, wizard.skipped_count), (1, 1))
        self.assertEqual(
            {
                (line.partner_id.name, line.outcome, line.skip_reason)
                for line in wizard.line_ids
            },
            {("Reached", "to_send", False), ("Shy", "skipped", "opt_out")},
        )
        self.assertFalse(campaign.last_run_date)
        self.assertFalse(wizard.empty_reason)

    def test_dry_run_that_finds_nobody_says_why(self):
        segment = self.env.ref("repeat_customer.segment_champions")
        inside = self._member("Long a Champion")
        inside.segment_id = segment
        self._member("Elsewhere")
        campaign = self._campaign(trigger="segment", segment_id=segment.id)
        action = campaign.action_dry_run()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        self.assertEqual(
            (wizard.to_send_count, wizard.control_count, wizard.skipped_count),
            (0, 0, 0),
        )
        audience = self.env["customer.membership"].search_count(
            campaign._audience_domain()
        )
        self.assertIn(
            f"{audience} active members are in the audience", wizard.empty_reason
        )
        self.assertIn("Entered a segment", wizard.empty_reason)
        self.assertIn(
            f"1 of them are in {segment.name} since earlier", wizard.empty_reason
        )
        # an audience that leaves nobody
        campaign.write({"trigger": "birthday", "audience_domain": "[('id', '=', 0)]"})
        action = campaign.action_dry_run()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        self.assertIn("0 active members are in the audience", wizard.empty_reason)
        self.assertIn("widen it", wizard.empty_reason)


@tagged("post_install", "-at_install")
class TestExactlyOnce(CampaignCase):
    def _counts(self, campaign):
        deliveries = self._deliveries(campaign)
        return (
            len(deliveries),
            self.env["customer.coupon"].search_count(
                [("campaign_delivery_id", "in", deliveries.ids)]
            ),
            self.env["customer.point.entry"].search_count(
                [("campaign_delivery_id", "in", deliveries.ids)]
            ),
            self.env["mail.mail"].search_count(
                [("model", "=", self.Delivery._name), ("res_id", "in", deliveries.ids)]
            ),
        )

    def test_rerun_sends_once(self):
        self._member("Once", birthdate_date=self.today.replace(year=1990))
        campaign = self._campaign(coupon_program_id=self.program.id, bonus_points=50)
        campaign._run()
        campaign._run()
        self.env["customer.campaign"]._cron_run_campaigns()
        self.assertEqual(self._counts(campaign), (1, 1, 1, 1))

    def test_run_now_sends_a_batch_and_hands_the_rest_to_the_job(self):
        for number in range(3):
            self._member(
                f"Member {number}", birthdate_date=self.today.replace(year=1990)
            )
        campaign = self._campaign()
        self.env["ir.config_parameter"].set_param(
            "repeat_customer.campaign_send_batch_size", "2"
        )
        cron = self.env.ref("repeat_customer.ir_cron_run_campaigns")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        campaign.action_run_now()
        states = sorted(self._deliveries(campaign).mapped("state"))
        self.assertEqual(states, ["sent", "sent", "to_send"])
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
            triggers + 1,
        )
        self.env["customer.campaign"]._cron_run_campaigns()
        self.assertEqual(set(self._deliveries(campaign).mapped("state")), {"sent"})

    def test_crash_between_batches(self):
        for number in range(3):
            self._member(
                f"Member {number}", birthdate_date=self.today.replace(year=1990)
            )
        campaign = self._campaign(coupon_program_id=self.program.id, bonus_points=5)
        self.assertEqual(campaign._queue(), 3)
        self.assertEqual(self.Delivery._send_queued(self.company, limit=1), (1, 2))
        # the worker dies after sending the second batch, before committing
        with contextlib.suppress(Crash), self.env.cr.savepoint():
            self.Delivery._send_queued(self.company, limit=1)
            raise Crash
        self.env.invalidate_all()
        self.assertEqual(self._counts(campaign), (3, 1, 1, 1))
        # the next run sends the rest, once
        self.env["ir.config_parameter"].set_param(
            "repeat_customer.campaign_send_batch_size", "1"
        )
        for _call in range(3):
            self.env["customer.campaign"]._cron_run_campaigns()
        self.assertEqual(self._counts(campaign), (3, 3, 3, 3))
        self.assertEqual(set(self._deliveries(campaign).mapped("state")), {"sent"})

    def test_occasion_is_unique(self):
        member = self._member("Unique", birthdate_date=self.today.replace(year=1990))
        campaign = self._campaign()
        campaign._queue()
        with (
            self.assertRaises(psycopg2.errors.UniqueViolation),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.Delivery.create(
                {
                    "campaign_id": campaign.id,
                    "membership_id": member.id,
                    "company_id": self.company.id,
                    "partner_id": member.partner_id.id,
                    "occurrence_key": str(self.today.year),
                    "delivery_date": self.today,
                    "state": "to_send",
                }
            )


@tagged("post_install", "-at_install")
class TestControlGroup(CampaignCase):
    def test_bucket_is_stable_and_the_sql_agrees(self):
        self.assertEqual(control_bucket(7, 42), control_bucket(7, 42))
        self.assertNotEqual(
            [control_bucket(7, p) for p in range(20)],
            [control_bucket(8, p) for p in range(20)],
        )
        self.assertTrue(is_control(999, 10))
        self.assertFalse(is_control(1000, 10))
        self.env.cr.execute(
            "SELECT p, mod(('x' || substr(md5('7:' || p::text), 1, 8))::bit(32)"
            "::bigint, 10000) FROM generate_series(1, 50) p"
        )
        for partner_id, bucket in self.env.cr.fetchall():
            self.assertEqual(bucket, control_bucket(7, partner_id))

    def test_share_and_nothing_sent_to_control(self):
        members = self.env["customer.membership"]
        for number in range(200):
            members |= self._member(
                f"Crowd {number}", birthdate_date=self.today.replace(year=1990)
            )
        campaign = self._campaign(control_share=30.0, coupon_program_id=self.program.id)
        campaign._run(send_limit=None)
        deliveries = self._deliveries(campaign)
        control = deliveries.filtered(lambda d: d.state == "control")
        expected = {
            d.membership_id
            for d in deliveries
            if is_control(control_bucket(campaign.id, d.partner_id.id), 30.0)
        }
        self.assertEqual(set(control.membership_id), expected)
        # 30 % of 200, within 3 standard deviations (6.5)
        self.assertTrue(40 <= len(control) <= 80, len(control))
        self.assertTrue(
            control.mapped("is_control") and all(control.mapped("is_control"))
        )
        self.assertFalse(control.coupon_id)
        self.assertFalse(
            self.env["mail.mail"].search_count(
                [("model", "=", self.Delivery._name), ("res_id", "in", control.ids)]
            )
        )
        self.assertEqual(set((deliveries - control).mapped("state")), {"sent"})
        # next year's birthday: the same members are held out
        campaign.catch_up_days = 0
        next_year = (
            self.today.replace(year=self.today.year + 1)
            if not (self.today.month == 2 and self.today.day == 29)
            else date(self.today.year + 1, 2, 28)
        )
        campaign._queue(today=next_year)
        again = self._deliveries(campaign).filtered(
            lambda d: d.occurrence_key == str(next_year.year)
        )
        self.assertEqual(
            set(again.filtered("is_control").membership_id), set(control.membership_id)
        )


@tagged("post_install", "-at_install")
class TestUplift(CampaignCase):
    def test_proportions_hand_computed(self):
        diff, low, high = proportion_uplift(30, 100, 20, 100)
        # 0.30 - 0.20 +- 1.96 * sqrt(0.3 * 0.7 / 100 + 0.2 * 0.8 / 100)
        self.assertAlmostEqual(diff, 0.10)
        self.assertAlmostEqual(low, 0.10 - 0.1192200, places=6)
        self.assertAlmostEqual(high, 0.10 + 0.1192200, places=6)
        self.assertIsNone(proportion_uplift(1, 10, 0, 0))

    def test_members_needed_hand_computed(self):
        # (1.96 + 0.8416)^2 * (0.3 * 0.7 + 0.2 * 0.8) / 0.1^2 = 290.4: 291
        self.assertEqual(members_per_group_needed(0.30, 0.20), 291)
        self.assertIsNone(members_per_group_needed(0.2, 0.2))

    def test_verdict_says_whether_the_uplift_is_significant(self):
        campaign = self._campaign()
        # +10 points on 100 and 100: the interval holds 0
        verdict = campaign._uplift_verdict(
            proportion_uplift(30, 100, 20, 100),
            {"count": 100, "converted": 30},
            {"count": 100, "converted": 20},
        )
        self.assertEqual(
            verdict,
            "Not significant yet: an uplift of this size needs about 291 members "
            "in each group (now 100 contacted, 100 in the control group).",
        )
        # the same rates on 1 000 each: significant
        verdict = campaign._uplift_verdict(
            proportion_uplift(300, 1000, 200, 1000),
            {"count": 1000, "converted": 300},
            {"count": 1000, "converted": 200},
        )
        self.assertEqual(verdict, "Significant: the contacted members convert more.")
        verdict = campaign._uplift_verdict(
            proportion_uplift(200, 1000, 300, 1000),
            {"count": 1000, "converted": 200},
            {"count": 1000, "converted": 300},
        )
        self.assertEqual(verdict, "Significant: the contacted members convert less.")
        verdict = campaign._uplift_verdict(
            proportion_uplift(20, 100, 20, 100),
            {"count": 100, "converted": 20},
            {"count": 100, "converted": 20},
        )
        self.assertEqual(verdict, "Not significant: no difference so far.")
        self.assertFalse(campaign._uplift_verdict(None, {}, {}))
        self.assertFalse(campaign.uplift_verdict, "no control group yet")

    def test_means_hand_computed(self):
        # treated 10, 20, 30 (mean 20, variance 100); control 0, 10 (5, 50)
        diff, low, high = mean_uplift(60, 1400, 3, 10, 100, 2)
        margin = 1.959963984540054 * (100 / 3 + 50 / 2) ** 0.5
        self.assertAlmostEqual(diff, 15.0)
        self.assertAlmostEqual(low, 15.0 - margin)
        self.assertAlmostEqual(high, 15.0 + margin)
        self.assertIsNone(mean_uplift(10, 100, 1, 0, 0, 5))

    def test_campaign_figures(self):
        members = self.env["customer.membership"]
        for number in range(40):
            members |= self._member(
                f"Buyer {number}", birthdate_date=self.today.replace(year=1990)
            )
        campaign = self._campaign(control_share=50.0, conversion_days=10)
        campaign._run(send_limit=None)
        deliveries = self._deliveries(campaign)
        sent = deliveries.filtered(lambda d: d.state == "sent")
        control = deliveries.filtered(lambda d: d.state == "control")
        self.assertTrue(sent and control)
        # half the contacted buy 100 within the window, one control member buys
        buyers = sent[: len(sent) // 2]
        for delivery in buyers:
            self._order(delivery.partner_id, 100, days_ago=-1)
        self._order(control[0].partner_id, 100, days_ago=-1)
        # an order before the delivery is not the campaign's either
        self._order(control[2].partner_id, 300, days_ago=1)
        # an order after the window is not the campaign's
        self._order(control[1].partner_id, 500, days_ago=-11)
        self.Delivery._update_attribution(self.company)
        campaign.invalidate_recordset()
        self.assertEqual(campaign.sent_count, len(sent))
        self.assertEqual(campaign.control_count, len(control))
        expected = proportion_uplift(len(buyers), len(sent), 1, len(control))
        self.assertAlmostEqual(campaign.uplift, 100 * expected[0], places=1)
        self.assertAlmostEqual(campaign.uplift_low, 100 * expected[1], places=1)
        self.assertAlmostEqual(campaign.uplift_high, 100 * expected[2], places=1)
        self.assertAlmostEqual(
            campaign.revenue_per_member, 100 * len(buyers) / len(sent), places=2
        )
        self.assertAlmostEqual(
            campaign.control_revenue_per_member, 100 / len(control), places=2
        )
        self.assertTrue(campaign.has_uplift)
        # the monthly results compute the same in SQL
        self.env.flush_all()
        month = self.env["customer.campaign.result"].search(
            [("campaign_id", "=", campaign.id)]
        )
        self.assertEqual(len(month), 1)
        self.assertEqual(month.period, self.today.replace(day=1))
        self.assertEqual(
            (month.sent_count, month.control_count), (len(sent), len(control))
        )
        # (the campaign's figures are shown to one decimal)
        for fname in ("uplift", "uplift_low", "uplift_high", "conversion_rate"):
            self.assertAlmostEqual(month[fname], campaign[fname], delta=0.051)
        self.assertAlmostEqual(month.uplift, 100 * expected[0], places=6)
        self.assertAlmostEqual(month.uplift_low, 100 * expected[1], places=6)
        self.assertAlmostEqual(
            month.revenue_per_member, campaign.revenue_per_member, places=2
        )


@tagged("post_install", "-at_install")
class TestActions(CampaignCase):
    def test_activity_for_the_salesperson(self):
        salesman = self.env["res.users"].create(
            {
                "name": "Salesman",
                "login": "campaign.salesman",
                "company_id": self.company.id,
                "company_ids": [Command.set(self.company.ids)],
            }
        )
        followed = self._member("Followed", user_id=salesman.id)
        alone = self._member("Alone")
        for member in followed | alone:
            member.join_date = self.today
        manager = self.env.ref("base.user_admin")
        campaign = self._campaign(
            trigger="welcome",
            channel="none",
            mail_template_id=False,
            activity_type_id=self.env.ref("mail.mail_activity_data_call").id,
            activity_summary="Say hello",
            user_id=manager.id,
        )
        # the job runs as the superuser
        self.env["customer.campaign"].with_user(
            self.env.ref("base.user_root")
        )._cron_run_campaigns()
        activity = {d.membership_id: d.activity_id for d in self._deliveries(campaign)}
        self.assertEqual(activity[followed].user_id, salesman)
        self.assertEqual(activity[alone].user_id, manager)
        self.assertEqual(activity[followed].summary, "Say hello")
        self.assertEqual(activity[followed].res_id, followed.id)

    def test_bonus_points_traceable_to_the_delivery(self):
        member = self._member("Lucky", birthdate_date=self.today.replace(year=1990))
        campaign = self._campaign(name="Birthday points", bonus_points=88)
        campaign._run()
        delivery = self._deliveries(campaign)
        entry = delivery.point_entry_id
        self.assertEqual(entry.points, 88)
        self.assertEqual(entry.kind, "earn")
        self.assertEqual(entry.campaign_delivery_id, delivery)
        self.assertEqual(entry.origin, "Birthday points")
        self.assertEqual(entry.action_open_origin()["res_id"], delivery.id)
        self.assertEqual(member.points_balance, 88)

    def test_mail_in_the_customers_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.template.with_context(
            lang="zh_CN"
        ).subject = "生日快乐，{{ object.partner_id.name }}！"
        chinese = self._member(
            "王芳", lang="zh_CN", birthdate_date=self.today.replace(year=1990)
        )
        english = self._member(
            "Emma", lang="en_US", birthdate_date=self.today.replace(year=1991)
        )
        campaign = self._campaign(coupon_program_id=self.program.id)
        campaign._run()
        mails = self.env["mail.mail"].search(
            [
                ("model", "=", self.Delivery._name),
                ("res_id", "in", self._deliveries(campaign).ids),
            ]
        )
        subjects = {mail.recipient_ids: mail.subject for mail in mails}
        self.assertEqual(subjects[chinese.partner_id], "生日快乐，王芳！")
        self.assertEqual(subjects[english.partner_id], "Happy birthday, Emma!")
        coupon = (
            self._deliveries(campaign)
            .filtered(lambda d: d.membership_id == english)
            .coupon_id
        )
        self.assertIn(
            coupon.code,
            mails.filtered(lambda m: m.recipient_ids == english.partner_id).body_html,
        )

    def test_reward_given_free(self):
        member = self._member("Rewarded", birthdate_date=self.today.replace(year=1990))
        reward = self.env["customer.reward"].create(
            {
                "name": "Birthday cake",
                "company_id": self.company.id,
                "points_cost": 500,
                "program_id": self.program.id,
                "coupon_validity_days": 14,
            }
        )
        campaign = self._campaign(reward_id=reward.id)
        campaign._run()
        coupon = self._deliveries(campaign).coupon_id
        self.assertEqual(coupon.reward_id, reward)
        self.assertEqual(coupon.origin, "campaign")
        self.assertEqual(coupon.expiration_date, self.today + timedelta(days=14))
        # free: no points spent
        self.assertFalse(coupon.point_entry_id)
        self.assertEqual(member.points_balance, 0)
        stocked = reward.copy({"limit_qty": 10, "limit_period": "month"})
        with self.assertRaisesRegex(ValidationError, "no stock limit"):
            campaign.reward_id = stocked
        with self.assertRaisesRegex(ValidationError, "not both"):
            campaign.coupon_program_id = self.program

    def test_failed_action_marks_failed(self):
        self._member("Unlucky", birthdate_date=self.today.replace(year=1990))
        campaign = self._campaign(coupon_program_id=self.program.id)
        # the programme changed type after the campaign was set up
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE loyalty_program SET program_type = 'promotion' WHERE id = %s",
            [self.program.id],
        )
        self.program.invalidate_recordset()
        campaign._run()
        delivery = self._deliveries(campaign)
        self.assertEqual(delivery.state, "failed")
        self.assertIn("not a coupon programme", delivery.failure_reason)
        self.assertFalse(
            self.env["customer.coupon"].search(
                [("campaign_delivery_id", "=", delivery.id)]
            )
        )

    def test_starting_a_shipped_campaign(self):
        campaign = self.env.ref("repeat_customer.customer_campaign_birthday")
        self.assertEqual(campaign.state, "draft")
        self.assertFalse(campaign.coupon_program_id.active)
        campaign.action_start()
        self.assertEqual(campaign.state, "running")
        self.assertTrue(campaign.coupon_program_id.active)
        with Form(campaign) as form:
            form.control_share = 15
        self.assertEqual(campaign.control_share, 15)


@tagged("post_install", "-at_install")
class TestBadInputs(CampaignCase):
    def test_refused_values(self):
        cases = [
            ({"control_share": 95}, "between 0 and"),
            ({"control_share": -1}, "between 0 and"),
            ({"days": -1}, "must be between"),
            ({"conversion_days": 0}, "must be between"),
            ({"bonus_points": -5}, "must be between"),
            ({"trigger": "segment"}, "choose the segment"),
            ({"mail_template_id": False}, "choose its template"),
            (
                {
                    "mail_template_id": self.env.ref(
                        "loyalty.mail_template_loyalty_card"
                    ).id
                },
                "not a template of campaign deliveries",
            ),
            ({"channel": "none", "mail_template_id": False}, "does nothing"),
            ({"audience_domain": "[('nope', '=', 1)]"}, "not a valid filter"),
            ({"audience_domain": "oops"}, "not a valid filter"),
        ]
        for vals, message in cases:
            with self.subTest(vals=vals):
                count = self.Campaign.with_context(active_test=False).search_count([])
                with (
                    self.assertRaisesRegex(ValidationError, message),
                    self.env.cr.savepoint(),
                ):
                    self._campaign(**vals)
                self.assertEqual(
                    self.Campaign.with_context(active_test=False).search_count([]),
                    count,
                )
        not_coupons = self.env["loyalty.program"].create(
            {
                "name": "Promo",
                "program_type": "promotion",
                "company_id": self.company.id,
            }
        )
        with self.assertRaisesRegex(ValidationError, "not a coupon programme"):
            self._campaign(coupon_program_id=not_coupons.id)
        with self.assertRaisesRegex(ValidationError, "whole number"):
            self._campaign(days="3.5")

    def test_archived_campaign_cannot_run(self):
        campaign = self._campaign()
        campaign.active = False
        # archiving stops it
        self.assertEqual(campaign.state, "stopped")
        with self.assertRaisesRegex(UserError, "archived"):
            campaign.action_run_now()
        with self.assertRaisesRegex(UserError, "archived"):
            campaign.action_start()
        self.assertEqual(campaign.state, "stopped")

    def test_audience_is_applied(self):
        gold = self._member("Gold Member", birthdate_date=self.today.replace(year=1990))
        self._member("Other Member", birthdate_date=self.today.replace(year=1990))
        campaign = self._campaign(
            audience_domain="[('partner_id.name', 'ilike', 'Gold')]"
        )
        self.assertEqual(campaign.audience_count, 1)
        campaign._queue()
        self.assertEqual(self._deliveries(campaign).membership_id, gold)
        # a cap per run: the others wait for the next run
        many = self._campaign(name="Capped", max_per_run=1)
        self.assertEqual(many._queue(), 1)
        self.assertEqual(many._queue(), 1)
        self.assertEqual(many._queue(), 0)


@tagged("post_install", "-at_install")
class TestLifecycle(CampaignCase):
    """Draft, running, stopped: a campaign reaches nobody until started, and
    nobody new once stopped or outside its dates."""

    def _cron(self, when=None):
        when = when or datetime.combine(self.today, time(10, 5))
        with freeze_time(when):
            self.env["customer.campaign"]._cron_run_campaigns()

    def test_a_new_campaign_is_a_draft_that_reaches_nobody(self):
        self._member("Born Today", birthdate_date=self.today.replace(year=1990))
        campaign = self._campaign(state="draft", bonus_points=10)
        self.assertEqual(
            self.Campaign.create(
                {
                    "name": "Plain",
                    "company_id": self.company.id,
                    "channel": "mail",
                    "mail_template_id": self.template.id,
                }
            ).state,
            "draft",
        )
        self._cron()
        self.assertFalse(self._deliveries(campaign))
        with self.assertRaisesRegex(UserError, "not running: start it first"):
            campaign.action_run_now()
        # the dry run works on a draft and writes nothing
        action = campaign.action_dry_run()
        dry_run = self.env[action["res_model"]].browse(action["res_id"])
        self.assertEqual(dry_run.to_send_count, 1)
        self.assertFalse(self._deliveries(campaign))
        campaign.action_start()
        self.assertEqual(campaign.state, "running")
        self._cron(datetime.combine(self.today, time(11, 5)))
        self.assertEqual(self._deliveries(campaign).state, "sent")
        self.assertIn(
            "Running",
            campaign.message_ids.tracking_value_ids.mapped("new_value_char"),
        )

    def test_stopped_holds_the_queue_and_reaches_nobody_new(self):
        self.company.write(
            {"loyalty_quiet_hours_start": 0.0, "loyalty_quiet_hours_end": 24.0}
        )
        self._member("Queued", birthdate_date=self.today.replace(year=1990))
        campaign = self._campaign()
        campaign._run()
        delivery = self._deliveries(campaign)
        self.assertEqual(delivery.state, "to_send")
        with self.assertRaisesRegex(UserError, "Stop the campaign"):
            campaign.action_cancel_queued()
        campaign.action_stop()
        self.assertEqual(campaign.state, "stopped")
        self.company.write({"loyalty_quiet_hours_end": 0.0})
        self._member("Also born", birthdate_date=self.today.replace(year=1990))
        self._cron()
        # nothing sent, nobody new queued
        self.assertEqual(self._deliveries(campaign), delivery)
        self.assertEqual(delivery.state, "to_send")
        with self.assertRaisesRegex(UserError, "not running"):
            campaign.action_run_now()
        # started again: the held message goes, the new member is reached
        campaign.action_start()
        self._cron(datetime.combine(self.today, time(11, 5)))
        self.assertEqual(set(self._deliveries(campaign).mapped("state")), {"sent"})
        self.assertEqual(len(self._deliveries(campaign)), 2)

    def test_dates(self):
        self._member("Dated", birthdate_date=self.today.replace(year=1990))
        with self.assertRaisesRegex(ValidationError, "ends before it starts"):
            self._campaign(
                date_start=self.today, date_end=self.today - timedelta(days=1)
            )
        later = self._campaign(name="Later", date_start=self.today + timedelta(days=1))
        self._cron()
        self.assertFalse(self._deliveries(later))
        with self.assertRaisesRegex(UserError, "outside these dates"):
            later.action_run_now()
        with self.assertRaisesRegex(UserError, "ended on"):
            self._campaign(name="Over", date_end=self.today - timedelta(days=1))
        # a campaign whose last day was yesterday stops once its queue is sent
        ended = self._campaign(name="Ended", date_end=self.today)
        ended._run()
        self.assertEqual(self._deliveries(ended).state, "sent")
        tomorrow = datetime.combine(self.today + timedelta(days=1), time(10, 5))
        with freeze_time(tomorrow):
            self._member(
                "Too late",
                birthdate_date=self.today.replace(year=1990) + timedelta(days=1),
            )
            self.env["customer.campaign"]._cron_run_campaigns()
        self.assertEqual(ended.state, "stopped")
        self.assertEqual(len(self._deliveries(ended)), 1)
        self.assertTrue(any("ended on" in m.body for m in ended.message_ids))

    def test_upgrade_keeps_live_campaigns_running(self):
        """18.0.1.13.0: the on/off switch becomes the lifecycle without
        stopping anything that ran."""
        path = file_path("repeat_customer/migrations/18.0.1.13.0/pre-migrate.py")
        spec = importlib.util.spec_from_file_location("migration_18_0_1_13_0", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        self._member("Reached", birthdate_date=self.today.replace(year=1990))
        live = self._campaign(name="Live")
        used = self._campaign(name="Used, then switched off")
        used._run()
        unused = self._campaign(name="Never switched on")
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE customer_campaign SET active = id <> ALL(%s) WHERE id IN %s",
            [[used.id, unused.id], (live.id, used.id, unused.id)],
        )
        self.env.cr.execute("ALTER TABLE customer_campaign DROP COLUMN state")
        migration.migrate(self.env.cr, "18.0.1.12.0")
        self.env.invalidate_all()
        self.assertEqual(
            (live + used + unused).mapped(lambda c: (c.state, c.active)),
            [("running", True), ("stopped", True), ("draft", True)],
        )

    def test_only_managers_start_and_stop(self):
        salesman = new_test_user(
            self.env,
            login="rc_lifecycle_sales",
            groups="sales_team.group_sale_salesman",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        campaign = self._campaign(state="draft")
        for method in ("action_start", "action_stop", "action_send_test"):
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(campaign.with_user(salesman), method)()
        with self.assertRaises(AccessError):
            campaign.with_user(salesman).write({"state": "running"})
        self.assertEqual(campaign.state, "draft")


@tagged("post_install", "-at_install")
class TestSendATest(CampaignCase, SMSCase, MockEmail):
    """*Send a Test*: the message as a member would get it, to the user; the
    member gets nothing and nothing is given or counted."""

    def _counts(self):
        return (
            self.Delivery.search_count([]),
            self.env["customer.coupon"].search_count([]),
            self.env["loyalty.card"].search_count([]),
            self.env["customer.point.entry"].search_count([]),
            self.env["mail.activity"].search_count([]),
        )

    def test_mail_as_a_member_to_me(self):
        self.env.user.email = "manager@example.com"
        member = self._member("Li Na", birthdate_date=self.today.replace(year=1990))
        campaign = self._campaign(
            state="draft",
            coupon_program_id=self.program.id,
            bonus_points=50,
            activity_type_id=self.env.ref("mail.mail_activity_data_call").id,
        )
        before = self._counts()
        action = campaign.action_send_test()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        self.assertEqual(wizard.membership_id, member)
        self.assertIn("manager@example.com", wizard.email_to)
        with self.mock_mail_gateway(mail_unlink_sent=True):
            result = wizard.action_send()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(len(self._mails), 1)
        mail = self._mails[0]
        self.assertIn("manager@example.com", mail["email_to"][0])
        self.assertEqual(mail["subject"], "[Test] Happy birthday, Li Na!")
        # the coupon box and the points are in it, as the member would read
        self.assertIn("50", mail["body"])
        self.assertRegex(mail["body"], r"border:2px dashed")
        # and nothing of it was kept
        self.assertEqual(self._counts(), before)
        self.assertEqual(member.points_balance, 0)
        left = self.env["mail.mail"].search(
            [("res_id", "=", campaign.id), ("model", "=", campaign._name)]
        )
        self.assertFalse(left, left.mapped(lambda m: (m.subject, m.email_to, m.state)))
        self.assertIn("Test email", campaign.message_ids[:1].body)
        self.assertEqual(campaign.state, "draft")

    def test_sms_to_my_mobile(self):
        self._member("Texted", phone="+32 470 12 34 56")
        campaign = self._campaign(
            channel="sms",
            mail_template_id=False,
            sms_template_id=self.env.ref(
                "repeat_customer.sms_template_campaign_points_expiring"
            ).id,
        )
        action = campaign.action_send_test()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        wizard.phone = "+32 470 99 88 77"
        before = self.env["sms.sms"].search_count([])
        with self.mockSMSGateway():
            result = wizard.action_send()
        self.assertEqual(result["params"]["type"], "success")
        self.assertSMSIapSent([self.env.user._phone_format(number=wizard.phone)])
        self.assertEqual(self.env["sms.sms"].search_count([]), before)
        self.assertFalse(self._deliveries(campaign))
        # a gateway that refuses says so
        with self.mockSMSGateway(sim_error="credit"):
            result = wizard.action_send()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertIn("could not be sent", result["params"]["message"])

    def test_bad_inputs(self):
        member = self._member("Someone")
        campaign = self._campaign()
        wizard = self.env["customer.campaign.test"].browse(
            campaign.action_send_test()["res_id"]
        )
        wizard.email_to = "not an address"
        with self.assertRaisesRegex(UserError, "email address"):
            wizard.action_send()
        silent = self._campaign(
            name="Silent", channel="none", mail_template_id=False, bonus_points=5
        )
        with self.assertRaisesRegex(UserError, "sends no message"):
            silent.action_send_test()
        other_company = self.env["res.company"].create({"name": "Test Send Co"})
        stranger = self.env["customer.membership"].create(
            {"partner_id": self._partner("Stranger").id, "company_id": other_company.id}
        )
        wizard.write({"email_to": "me@example.com", "membership_id": stranger.id})
        with self.assertRaisesRegex(UserError, "not a member of"):
            wizard.action_send()
        sms = self._campaign(
            name="Texting",
            channel="sms",
            mail_template_id=False,
            sms_template_id=self.env.ref(
                "repeat_customer.sms_template_campaign_points_expiring"
            ).id,
        )
        wizard = self.env["customer.campaign.test"].browse(
            sms.action_send_test()["res_id"]
        )
        wizard.write({"phone": "12", "membership_id": member.id})
        with self.assertRaisesRegex(UserError, "not a valid one"):
            wizard.action_send()

    def test_someone_elses_test_is_not_readable(self):
        manager = new_test_user(
            self.env,
            login="rc_test_send_manager",
            groups="repeat_customer.group_manager,sales_team.group_sale_manager",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        self._member("Seen")
        campaign = self._campaign()
        mine = campaign.action_send_test()["res_id"]
        Test = self.env["customer.campaign.test"].with_user(manager)
        self.assertFalse(Test.search([("id", "=", mine)]))
        with self.assertRaises(AccessError):
            Test.browse(mine).read(["email_to"])


@tagged("post_install", "-at_install")
class TestBirthdayMigration(RepeatCustomerCase):
    def test_legacy_birthdays_move_to_the_oca_field(self):
        kept = self._partner("Kept", birthdate_date=date(1980, 1, 1))
        moved = self._partner("Moved")
        self.env.flush_all()
        self.env.cr.execute("ALTER TABLE res_partner ADD COLUMN birth_date date")
        self.env.cr.execute(
            "UPDATE res_partner SET birth_date = '1999-09-09' WHERE id IN %s",
            [(kept.id, moved.id)],
        )
        self.assertEqual(move_legacy_birthdays(self.env.cr), 1)
        self.env.invalidate_all()
        self.assertEqual(kept.birthdate_date, date(1980, 1, 1))
        self.assertEqual(moved.birthdate_date, date(1999, 9, 9))
        # the old column is gone; a second run does nothing
        self.assertEqual(move_legacy_birthdays(self.env.cr), 0)


@tagged("post_install", "-at_install")
class TestCampaignSms(CampaignCase, SMSCase):
    def test_sms_through_the_sms_module(self):
        member = self._member("Texted", phone="+32 470 12 34 56")
        self.env["customer.point.entry"]._post_adjustment(
            member, 120, "seed", expiry_date=self.today + timedelta(days=5)
        )
        campaign = self._campaign(
            trigger="points_expiring",
            days=7,
            is_service=True,
            channel="sms",
            mail_template_id=False,
            sms_template_id=self.env.ref(
                "repeat_customer.sms_template_campaign_points_expiring"
            ).id,
        )
        with self.mockSMSGateway():
            campaign._run()
            sms = self.env["sms.sms"].search(
                [("partner_id", "=", member.partner_id.id)]
            )
            self.assertEqual(len(sms), 1)
            self.assertEqual(sms.state, "outgoing")
            sms.send()
        self.assertSMSIapSent(
            [member.partner_id.phone_sanitized], content="120 of your points expire"
        )
        self.assertEqual(self._deliveries(campaign).state, "sent")
        self.assertFalse(
            self.env["mail.mail"].search_count(
                [
                    ("model", "=", self.Delivery._name),
                    ("res_id", "in", self._deliveries(campaign).ids),
                ]
            )
        )


@tagged("post_install", "-at_install")
class TestTwoWorkers(TransactionCase):
    """Two workers run the same campaign at the same moment, each in its own
    transaction: the data is committed (another transaction cannot see
    uncommitted rows) and removed at the end."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            self.quiet_hours = (
                company.loyalty_quiet_hours_start,
                company.loyalty_quiet_hours_end,
            )
            company.write(
                {"loyalty_quiet_hours_start": 0.0, "loyalty_quiet_hours_end": 0.0}
            )
            partner = env["res.partner"].create(
                {
                    "name": "Twice Tempted",
                    "email": "twice@example.com",
                    "birthdate_date": env["res.company"]
                    .browse(company.id)
                    ._loyalty_today()
                    .replace(year=1990),
                }
            )
            membership = env["customer.membership"].create(
                {"partner_id": partner.id, "company_id": company.id}
            )
            campaign = env["customer.campaign"].create(
                {
                    "name": "Two workers",
                    "company_id": company.id,
                    "trigger": "birthday",
                    "catch_up_days": 0,
                    "channel": "mail",
                    "mail_template_id": env.ref(
                        "repeat_customer.mail_template_campaign_birthday"
                    ).id,
                    "bonus_points": 30,
                    "control_share": 0,
                    "state": "running",
                }
            )
            self.ids = (partner.id, membership.id, campaign.id, company.id)
        self.addCleanup(self._remove_committed_data)

    def _remove_committed_data(self):
        partner_id, membership_id, campaign_id, _company = self.ids
        with self.registry.cursor() as cr:
            cr.execute(
                "DELETE FROM mail_mail WHERE mail_message_id IN (SELECT id FROM"
                " mail_message WHERE model = 'customer.campaign.delivery'"
                " AND res_id IN (SELECT id FROM customer_campaign_delivery"
                " WHERE campaign_id = %s))",
                [campaign_id],
            )
            cr.execute(
                "DELETE FROM mail_message WHERE model = 'customer.campaign.delivery'"
                " AND res_id IN (SELECT id FROM customer_campaign_delivery"
                " WHERE campaign_id = %s)",
                [campaign_id],
            )
            cr.execute(
                "DELETE FROM customer_point_entry WHERE membership_id = %s"
                " OR campaign_delivery_id IN (SELECT id FROM"
                " customer_campaign_delivery WHERE campaign_id = %s)",
                [membership_id, campaign_id],
            )
            cr.execute(
                "DELETE FROM customer_campaign_delivery WHERE campaign_id = %s"
                " OR membership_id = %s",
                [campaign_id, membership_id],
            )
            cr.execute("DELETE FROM customer_campaign WHERE id = %s", [campaign_id])
            cr.execute(
                "DELETE FROM mail_message WHERE model IN "
                "('customer.membership', 'res.partner', 'customer.campaign') "
                "AND res_id = ANY(%s)",
                [[membership_id, partner_id, campaign_id]],
            )
            cr.execute("DELETE FROM customer_membership WHERE id = %s", [membership_id])
            cr.execute("DELETE FROM res_partner WHERE id = %s", [partner_id])
            cr.execute(
                "UPDATE res_company SET loyalty_quiet_hours_start = %s,"
                " loyalty_quiet_hours_end = %s WHERE id = %s",
                [*self.quiet_hours, self.ids[3]],
            )

    def _run(self, env):
        return env["customer.campaign"].browse(self.ids[2])._run(send_limit=None)

    def test_two_workers_reach_the_member_once(self):
        results = {}

        def run_b():
            results["b"] = attempt(
                self.registry, lambda env: results.setdefault("b_run", self._run(env))
            )

        # A queues and sends, and keeps its transaction open while B starts:
        # B waits on the occasion's unique key, then creates nothing (or
        # fails to serialize, and its retry creates nothing)
        race(self, self._run, run_b)
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*), count(*) FILTER (WHERE state = 'sent')"
                " FROM customer_campaign_delivery WHERE campaign_id = %s",
                [self.ids[2]],
            )
            self.assertEqual(cr.fetchone(), (1, 1))
            cr.execute(
                "SELECT count(*), sum(points) FROM customer_point_entry"
                " WHERE membership_id = %s",
                [self.ids[1]],
            )
            self.assertEqual(cr.fetchone(), (1, 30))
            cr.execute(
                "SELECT count(*) FROM mail_mail mm"
                " JOIN mail_message msg ON msg.id = mm.mail_message_id"
                " WHERE msg.model = 'customer.campaign.delivery'"
                " AND msg.res_id IN (SELECT id FROM customer_campaign_delivery"
                " WHERE campaign_id = %s)",
                [self.ids[2]],
            )
            self.assertEqual(cr.fetchone()[0], 1)
        # B's run, or its retry, found the occasion taken
        if results["b"] == "done":
            self.assertEqual(results["b_run"][:2], (0, 0))
        else:
            self.assertIsInstance(results["b"], psycopg2.errors.SerializationFailure)
            self.assertEqual(
                attempt(
                    self.registry,
                    lambda env: self.assertEqual(self._run(env)[:2], (0, 0)),
                ),
                "done",
            )

    def test_a_queued_delivery_is_sent_by_one_worker(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.assertEqual(env["customer.campaign"].browse(self.ids[2])._queue(), 1)
        cr_a = self.registry.cursor()
        cr_b = self.registry.cursor()
        try:
            env_a = api.Environment(cr_a, SUPERUSER_ID, {})
            env_b = api.Environment(cr_b, SUPERUSER_ID, {})
            company_a = env_a["res.company"].browse(self.ids[3])
            company_b = env_b["res.company"].browse(self.ids[3])
            # A locks and sends; B, meanwhile, skips the locked row
            self.assertEqual(
                env_a["customer.campaign.delivery"]._send_queued(company_a)[0], 1
            )
            self.assertEqual(
                env_b["customer.campaign.delivery"]._send_queued(company_b)[0], 0
            )
            cr_a.commit()
            cr_b.rollback()
            self.assertEqual(
                env_b["customer.campaign.delivery"]._send_queued(company_b), (0, 0)
            )
            cr_b.commit()
        finally:
            cr_a.close()
            cr_b.close()
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM customer_point_entry WHERE membership_id = %s",
                [self.ids[1]],
            )
            self.assertEqual(cr.fetchone()[0], 1)


@tagged("post_install", "-at_install")
class TestCompaniesAndRights(CampaignCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create(
            {"name": "Other Campaign Co", "currency_id": cls.env.ref("base.EUR").id}
        )
        cls.other_company.write(
            {"loyalty_quiet_hours_start": 0.0, "loyalty_quiet_hours_end": 0.0}
        )
        cls.env.user.company_ids |= cls.other_company
        cls.salesman = new_test_user(
            cls.env,
            login="rc_campaign_sales",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.manager = new_test_user(
            cls.env,
            login="rc_campaign_manager",
            groups="repeat_customer.group_manager,sales_team.group_sale_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    def test_a_campaign_reaches_its_company_only(self):
        birthday = self.today.replace(year=1990)
        here = self._member("Here", birthdate_date=birthday)
        partner = here.partner_id
        there = self.env["customer.membership"].create(
            {"partner_id": partner.id, "company_id": self.other_company.id}
        )
        campaign = self._campaign(bonus_points=10)
        campaign._run()
        self.assertEqual(self._deliveries(campaign).membership_id, here)
        self.assertEqual(here.points_balance, 10)
        self.assertEqual(there.points_balance, 0)
        # the other company's campaign is seen by nobody of this one
        other = self.Campaign.with_company(self.other_company).create(
            {
                "name": "Elsewhere",
                "company_id": self.other_company.id,
                "trigger": "birthday",
                "channel": "none",
                "bonus_points": 5,
                "control_share": 0,
                "state": "running",
            }
        )
        other._run()
        self.assertEqual(self._deliveries(other).membership_id, there)
        self.assertFalse(
            self.Campaign.with_user(self.manager).search([("id", "=", other.id)])
        )
        self.assertFalse(
            self.Delivery.with_user(self.manager).search(
                [("campaign_id", "=", other.id)]
            )
        )

    def test_salespeople_see_their_customers_deliveries_and_cannot_run(self):
        mine = self._member(
            "Mine",
            user_id=self.salesman.id,
            birthdate_date=self.today.replace(year=1990),
        )
        self._member("Not mine", birthdate_date=self.today.replace(year=1990))
        campaign = self._campaign()
        campaign._run()
        self.assertEqual(len(self._deliveries(campaign)), 2)
        seen = self.Delivery.with_user(self.salesman).search(
            [("campaign_id", "=", campaign.id)]
        )
        self.assertEqual(seen.membership_id, mine)
        as_salesman = campaign.with_user(self.salesman)
        for method in ("action_run_now", "action_dry_run"):
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(as_salesman, method)()
        with self.assertRaises(AccessError):
            as_salesman.write({"bonus_points": 1000})
        with self.assertRaises(AccessError):
            seen.with_user(self.salesman).write({"state": "to_send"})
        # a manager runs it and reads the dry run, but neither writes a
        # delivery nor makes up a dry run
        action = campaign.with_user(self.manager).action_dry_run()
        wizard = self.env[action["res_model"]].with_user(self.manager)
        self.assertEqual(wizard.browse(action["res_id"]).campaign_id, campaign)
        delivery = self._deliveries(campaign)[:1].with_user(self.manager)
        for vals in ({"state": "to_send"}, {"point_entry_id": False}):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                delivery.write(vals)
        with self.assertRaises(AccessError):
            wizard.create({"campaign_id": campaign.id})
        with self.assertRaises(AccessError):
            self.env["customer.campaign.dry.run.line"].with_user(self.manager).create(
                {"dry_run_id": action["res_id"], "membership_id": mine.id}
            )

    def test_merged_customers_keep_their_deliveries(self):
        first = self._member("Twin", birthdate_date=self.today.replace(year=1990))
        second = self._member(
            "Twin (dup)", birthdate_date=self.today.replace(year=1990)
        )
        campaign = self._campaign(bonus_points=7)
        campaign._run()
        wizard = self.env["base.partner.merge.automatic.wizard"].create(
            {"state": "option"}
        )
        wizard._merge(
            (first.partner_id | second.partner_id).ids, dst_partner=first.partner_id
        )
        self.env.invalidate_all()
        deliveries = self._deliveries(campaign)
        self.assertEqual(len(deliveries), 2)
        self.assertEqual(deliveries.membership_id, first)
        self.assertEqual(
            sorted(deliveries.mapped("occurrence_key")),
            sorted([str(self.today.year), f"{self.today.year} ({second.id})"]),
        )
        self.assertEqual(first.points_balance, 14)
        # the merged member's birthday is not sent a third time
        self.assertEqual(campaign._queue(), 0)

    def test_the_next_hour_queues_again(self):
        self._member("Early", birthdate_date=self.today.replace(year=1990))
        campaign = self._campaign(trigger="welcome")
        hour = datetime.combine(self.today, time(10, 5))
        with freeze_time(hour):
            self.env["customer.campaign"]._cron_run_campaigns()
        self.assertEqual(len(self._deliveries(campaign)), 1)
        self._member("Late")
        # the same hour does not queue again; the next one does
        with freeze_time(hour + timedelta(minutes=20)):
            self.env["customer.campaign"]._cron_run_campaigns()
        self.assertEqual(len(self._deliveries(campaign)), 1)
        with freeze_time(hour + timedelta(hours=1)):
            self.env["customer.campaign"]._cron_run_campaigns()
        self.assertEqual(len(self._deliveries(campaign)), 2)
