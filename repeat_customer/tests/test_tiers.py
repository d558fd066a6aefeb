from datetime import timedelta

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import PointsCase, coupon_program_vals, run_until_done


class TiersCase(PointsCase):
    @classmethod
    def _gift_reward(cls):
        """A coupon given on reaching a tier."""
        program = cls.env["loyalty.program"].create(
            coupon_program_vals(cls.company, "Gold welcome gift", 20.0)
        )
        return cls.env["customer.reward"].create(
            {
                "name": "Gold welcome gift",
                "company_id": cls.company.id,
                "points_cost": 0,
                "program_id": program.id,
            }
        )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {"loyalty_tier_rule": "spend", "loyalty_tier_window_days": 365}
        )
        Tier = cls.env["customer.tier"]
        cls.silver = Tier.create(
            {
                "name": "Silver",
                "sequence": 1,
                "threshold": 1000,
                "points_multiplier": 1.0,
                "minimum_stay_days": 90,
                "company_id": cls.company.id,
            }
        )
        cls.gold = Tier.create(
            {
                "name": "Gold",
                "sequence": 2,
                "threshold": 5000,
                "points_multiplier": 1.5,
                "minimum_stay_days": 180,
                "reward_id": cls._gift_reward().id,
                "company_id": cls.company.id,
            }
        )
        cls.vip = Tier.create(
            {
                "name": "VIP",
                "sequence": 3,
                "threshold": 20000,
                "points_multiplier": 2.0,
                "minimum_stay_days": 365,
                "company_id": cls.company.id,
            }
        )
        cls.Tier = Tier

    def _review(self, day):
        with freeze_time(fields.Date.to_string(day)):
            run_until_done(self.Tier._cron_review_tiers)


@tagged("post_install", "-at_install")
class TestTiers(TiersCase):
    def test_thresholds_must_increase(self):
        with (
            self.assertRaisesRegex(ValidationError, "increase strictly"),
            self.cr.savepoint(),
        ):
            self.Tier.create(
                {
                    "name": "Platinum",
                    "sequence": 4,
                    "threshold": 20000,
                    "company_id": self.company.id,
                }
            )
        with (
            self.assertRaisesRegex(ValidationError, "increase strictly"),
            self.cr.savepoint(),
        ):
            self.gold.threshold = 500
        with self.assertRaisesRegex(ValidationError, "negative"), self.cr.savepoint():
            self.Tier.create(
                {
                    "name": "Bronze",
                    "sequence": 0,
                    "threshold": -1,
                    "company_id": self.company.id,
                }
            )
        with self.assertRaisesRegex(ValidationError, "above 0"), self.cr.savepoint():
            self.silver.points_multiplier = 0
        with (
            self.assertRaisesRegex(ValidationError, "minimum stay"),
            self.cr.savepoint(),
        ):
            self.silver.minimum_stay_days = -1
        self.assertEqual(self.gold.threshold, 5000)
        # another company has its own ladder
        other = self.env["res.company"].create({"name": "Tier Co 2"})
        self.Tier.create({"name": "Gold", "threshold": 10, "company_id": other.id})

    def test_upgrade_on_confirmation_with_history(self):
        self._order(self.customer, 600.0)
        membership = self._membership(self.customer)
        self.assertFalse(membership.tier_id)
        self.assertEqual(membership.next_tier_id, self.silver)
        self.assertEqual(membership.next_tier_missing, 400.0)
        self._order(self.customer, 400.0)
        self.assertEqual(membership.tier_id, self.silver, "1000 reaches Silver")
        self.assertEqual(membership.tier_since_date, self.today)
        change = membership.tier_change_ids
        self.assertEqual(len(change), 1)
        self.assertEqual(change.to_tier_id, self.silver)
        self.assertEqual(change.direction, "up")
        self.assertEqual(change.reason, "qualified")
        self.assertEqual(change.qualifying_value, 1000.0)
        self.assertEqual(change.reward_state, "none")
        self.assertIn("Silver", membership.message_ids[0].body)
        # straight to Gold, which owes its reward
        self._order(self.customer, 4500.0)
        self.assertEqual(membership.tier_id, self.gold)
        self.assertEqual(membership.tier_change_ids[0].reward_state, "to_issue")

    def test_tier_multiplier_applies_to_later_orders(self):
        self._order(self.customer, 5000.0)
        membership = self._membership(self.customer)
        self.assertEqual(membership.tier_id, self.gold)
        # the order that qualified earned at the tier before
        self.assertEqual(membership.points_pending, 5000)
        order = self._order(self.customer, 100.0)
        earned = order.loyalty_point_entry_ids
        self.assertEqual(earned.points, 150)
        self.assertEqual(earned.tier_id, self.gold)
        self.assertEqual(order.loyalty_tier_id, self.gold)

    def test_downgrade_only_at_review_after_minimum_stay(self):
        self.gold.minimum_stay_days = 60
        self._order(self.customer, 6000.0, days_ago=300)
        membership = self._membership(self.customer)
        with freeze_time(fields.Date.to_string(self.today - timedelta(days=300))):
            self.Tier._apply_tiers(self.company, membership.ids)
        self.assertEqual(membership.tier_id, self.gold)
        membership.invalidate_recordset()
        # an event never downgrades
        self.Tier._apply_tiers(
            self.company, membership.ids, today=self.today + timedelta(days=70)
        )
        self.assertEqual(membership.tier_id, self.gold)
        # at the review, the spend has left the window: down to nothing
        self._review(self.today + timedelta(days=70))
        self.assertFalse(membership.tier_id)
        change = membership.tier_change_ids[0]
        self.assertEqual(change.reason, "review")
        self.assertEqual(change.direction, "down")
        self.assertEqual(change.qualifying_value, 0.0)

    def test_minimum_stay_holds_the_tier(self):
        self._order(self.customer, 6000.0)
        membership = self._membership(self.customer)
        self.assertEqual(membership.tier_id, self.gold)
        # the spend leaves the window after 365 days; Gold's minimum stay is 180
        self._review(self.today + timedelta(days=100))
        self.assertEqual(membership.tier_id, self.gold)
        self._review(self.today + timedelta(days=366))
        self.assertFalse(membership.tier_id)
        # a second review changes nothing more
        count = len(membership.tier_change_ids)
        self._review(self.today + timedelta(days=366))
        self.assertEqual(len(membership.tier_change_ids), count)

    def test_enrolled_with_a_history_reach_their_tier_at_once(self):
        """A customer enrolled by hand or by the nightly enrolment, with
        orders from before, is in their tier at once, not at the next review
        (found by the integrity check on the demo data)."""
        self.company.loyalty_auto_enroll = False
        self._order(self.customer, 1500.0, days_ago=20)
        other = self._partner("Zhao Lei")
        self._order(other, 6000.0, days_ago=5)
        self.assertFalse(self._membership(self.customer) | self._membership(other))
        membership = self.Membership.create(
            {"partner_id": self.customer.id, "company_id": self.company.id}
        )
        self.assertEqual(membership.tier_id, self.silver)
        self.assertEqual(membership.tier_change_ids.reason, "qualified")
        self.company.loyalty_auto_enroll = True
        self.Membership._enrol_from_history(self.company)
        self.assertEqual(self._membership(other).tier_id, self.gold)
        check = self.env["customer.integrity.check"]._check_companies(self.company)
        self.assertFalse(check.finding_ids.filtered(lambda f: f.rule == "tier"))

    def test_review_upgrades(self):
        self._order(self.customer, 1500.0, days_ago=10)
        membership = self._membership(self.customer)
        membership.invalidate_recordset()
        self.env["customer.point.entry"].flush_model()
        # set back to no tier by hand in SQL to simulate an old member
        self.env.cr.execute(
            "UPDATE customer_membership SET tier_id = NULL WHERE id = %s",
            [membership.id],
        )
        membership.invalidate_recordset()
        self._review(self.today)
        self.assertEqual(membership.tier_id, self.silver)

    def test_manual_floor(self):
        manager = new_test_user(
            self.env,
            login="rc_tier_manager",
            groups="repeat_customer.group_manager,sales_team.group_sale_manager",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        salesman = new_test_user(
            self.env,
            login="rc_tier_sales",
            groups="sales_team.group_sale_salesman",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        self.customer.user_id = salesman
        self._order(self.customer, 100.0)
        membership = self._membership(self.customer)
        end = self.today + timedelta(days=30)
        with self.assertRaisesRegex(UserError, "Only loyalty managers"):
            membership.with_user(salesman).write(
                {"tier_floor_id": self.vip.id, "tier_floor_end_date": end}
            )
        with self.assertRaisesRegex(UserError, "end date"), self.cr.savepoint():
            membership.with_user(manager).write({"tier_floor_id": self.vip.id})
        membership.with_user(manager).write(
            {"tier_floor_id": self.vip.id, "tier_floor_end_date": end}
        )
        self.assertEqual(membership.tier_id, self.vip)
        change = membership.tier_change_ids[0]
        self.assertEqual(change.reason, "manual")
        self.assertEqual(change.user_id, manager)
        # held until its end date
        self._review(end)
        self.assertEqual(membership.tier_id, self.vip)
        # after it, the review applies the rule once VIP's minimum stay is over
        self._review(end + timedelta(days=1))
        self.assertEqual(membership.tier_id, self.vip)
        self.vip.minimum_stay_days = 0
        self._review(end + timedelta(days=1))
        self.assertFalse(membership.tier_id)

    def test_points_and_order_count_rules(self):
        self.company.loyalty_tier_rule = "points"
        self.silver.threshold = 100
        self.gold.threshold = 200
        self.vip.threshold = 300
        order = self._order(self.customer, 150.0)
        membership = self._membership(self.customer)
        self.assertEqual(membership.tier_id, self.silver)
        # adjustments are not qualifying points
        self._give(membership, 1000)
        self.Tier._apply_tiers(self.company, membership.ids)
        self.assertEqual(membership.tier_id, self.silver)
        self.assertEqual(membership.tier_qualifying_value, 150)
        # a cancelled order's points no longer qualify
        order._action_cancel()
        self.Tier._apply_tiers(self.company, membership.ids)
        self.assertEqual(membership.tier_qualifying_value, 0)
        self.company.loyalty_tier_rule = "orders"
        self.silver.threshold = 2
        self.gold.threshold = 3
        self.vip.threshold = 4
        other = self._partner("Frequent Buyer")
        for _i in range(3):
            self._order(other, 10.0)
        self.assertEqual(self._membership(other).tier_id, self.gold)

    def test_reward_owed_once_per_tier(self):
        self._order(self.customer, 5000.0, days_ago=400)
        membership = self._membership(self.customer)
        self._order(self.customer, 5000.0)
        self.assertEqual(membership.tier_id, self.gold)
        self.gold.minimum_stay_days = 0
        self._review(self.today + timedelta(days=366))
        self.assertFalse(membership.tier_id)
        with freeze_time(fields.Date.to_string(self.today + timedelta(days=367))):
            self._order(self.customer, 5000.0)
        self.assertEqual(membership.tier_id, self.gold)
        owed = membership.tier_change_ids.filtered(
            lambda c: c.reward_state == "to_issue"
        )
        self.assertEqual(len(owed), 1)

    def test_multi_company_tiers(self):
        other = self.env["res.company"].create({"name": "Tier Co B"})
        self.env.user.company_ids |= other
        other_gold = self.Tier.create(
            {"name": "Gold", "threshold": 10, "company_id": other.id}
        )
        self._order(self.customer, 2000.0)
        membership = self._membership(self.customer)
        other_membership = self.Membership.create(
            {"partner_id": self.customer.id, "company_id": other.id}
        )
        self.Tier._apply_tiers(other, other_membership.ids)
        self.assertEqual(membership.tier_id, self.silver)
        self.assertFalse(other_membership.tier_id, "no purchase in the other company")
        self.assertNotEqual(membership.tier_id, other_gold)

    def test_review_cron_in_batches(self):
        partners = [self._partner(f"Buyer {i}") for i in range(5)]
        for partner in partners:
            self._order(partner, 1200.0)
        memberships = self.Membership.search(
            [("partner_id", "in", [p.id for p in partners])]
        )
        self.env.cr.execute(
            "UPDATE customer_membership SET tier_id = NULL WHERE id = ANY(%s)",
            [memberships.ids],
        )
        memberships.invalidate_recordset()
        # the tier review's own batch size (issue 10: no job borrows another's)
        self.env["ir.config_parameter"].sudo().set_param(
            "repeat_customer.tier_batch_size", "2"
        )
        calls = 1
        with freeze_time(fields.Date.to_string(self.today)):
            while self.Tier._cron_review_tiers():
                calls += 1
        self.assertGreaterEqual(calls, 3)
        self.assertFalse(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("repeat_customer.tier_review_state"),
            "a finished review leaves no position behind",
        )
        self.assertEqual(set(memberships.mapped("tier_id")), {self.silver})


@tagged("post_install", "-at_install")
class TestTiersChinese(TiersCase):
    def test_tier_change_note_in_company_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["repeat_customer"], ["zh_CN"], overwrite=True
        )
        self.company.partner_id.lang = "zh_CN"
        self._order(self.customer, 1000.0)
        body = self._membership(self.customer).message_ids[0].body
        self.assertIn("等级变更：", body)
        self.assertIn("已达标", body)
        self.assertIn("Silver", body)
