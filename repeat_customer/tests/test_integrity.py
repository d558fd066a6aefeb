"""The ledger integrity check: a real history passes every rule; each kind of
corruption, seeded by SQL, is reported with the record involved."""

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..models.customer_integrity_check import RULE_SELECTION
from .common import RewardsCase


@tagged("post_install", "-at_install")
class TestIntegrityCheck(RewardsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Check = cls.env["customer.integrity.check"]
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=cls.company, install_demo=False
        )
        cls.company.loyalty_points_pending_days = 0
        Tier = cls.env["customer.tier"]
        cls.silver = Tier.create(
            {
                "name": "Silver",
                "sequence": 1,
                "threshold": 300,
                "company_id": cls.company.id,
            }
        )
        cls.gold = Tier.create(
            {
                "name": "Gold",
                "sequence": 2,
                "threshold": 1000,
                "company_id": cls.company.id,
            }
        )
        # a history that goes through every flow that moves points or coupons
        cls.big_order = cls._order(cls.customer, 1500.0)
        cls.membership = cls._membership(cls.customer)
        cls.cancelled = cls._order(cls.customer, 200.0, state="cancel")
        cls.reconfirmed = cls._order(cls.customer, 120.0, state="cancel")
        cls.reconfirmed.action_draft()
        cls.reconfirmed.action_confirm()
        invoice = cls.big_order._create_invoices()
        invoice.action_post()
        cls.refund = invoice._reverse_moves()
        cls.refund.invoice_line_ids.quantity = 0.2
        cls.refund.action_post()
        cls.coupon = cls.reward._redeem(cls.membership)
        cls.coupon2 = cls.reward._redeem(cls.membership)
        order = RewardsCase._quotation(cls, cls.customer, 100.0)
        wizard = (
            cls.env["sale.loyalty.coupon.wizard"]
            .with_context(active_id=order.id)
            .create({"order_id": order.id, "coupon_code": cls.coupon.code})
        )
        action = wizard.action_apply()
        cls.env["sale.loyalty.reward.wizard"].with_context(**action["context"]).create(
            {"selected_reward_id": action["context"]["default_reward_ids"][0]}
        ).action_apply()
        order.action_confirm()
        cls.coupon_order = order
        cls.other_member = cls.Membership.create(
            {"partner_id": cls.other.id, "company_id": cls.company.id}
        )
        cls.batch = cls.env["customer.coupon.batch"].create(
            {
                "name": "Spring",
                "company_id": cls.company.id,
                "program_id": cls.program.id,
                "target": "members",
                "membership_ids": [
                    Command.set((cls.membership | cls.other_member).ids)
                ],
                "per_customer_limit": 2,
            }
        )
        cls.batch.action_issue()
        cls.env["customer.membership"]._compute_company(cls.company)
        cls.env.flush_all()

    def _check(self):
        self.env.flush_all()
        self.env.invalidate_all()
        check = self.Check._check_companies(self.company)
        return check, {(f.rule, f.res_model, f.res_id) for f in check.finding_ids}

    def _sql(self, query, *args):
        self.env.flush_all()
        self.env.cr.execute(query, args)
        self.env.invalidate_all()

    def _earn_of(self, order):
        return self.Entry.search(
            [("sale_order_id", "=", order.id), ("kind", "=", "earn")], order="id"
        )

    def test_a_real_history_passes(self):
        self.assertEqual(self.coupon.state, "used")
        self.assertEqual(self.membership.tier_id, self.gold)
        self.assertTrue(self.refund.id in self.Entry.search([]).credit_note_id.ids)
        check, found = self._check()
        self.assertEqual(found, set(), check.summary)
        self.assertEqual(check.state, "ok")
        self.assertEqual(check.finding_count, 0)
        self.assertEqual(check.company_id, self.company)
        self.assertIn("Every rule holds", check.summary)
        # every rule has its method
        for rule, _label in RULE_SELECTION:
            self.assertTrue(hasattr(self.Check, f"_rule_{rule}"))

    def test_balance_and_points_left(self):
        member = self.membership
        self._sql(
            "UPDATE customer_membership SET points_pending = points_pending + 7"
            " WHERE id = %s",
            member.id,
        )
        earn = self._earn_of(self.big_order)
        self._sql(
            "UPDATE customer_point_entry SET remaining_points = remaining_points - 3"
            " WHERE id = %s",
            earn.id,
        )
        check, found = self._check()
        self.assertIn(("balance", "customer.membership", member.id), found)
        self.assertIn(("points_left", "customer.point.entry", earn.id), found)
        self.assertIn(("points_left_total", "customer.membership", member.id), found)
        self.assertEqual(check.state, "issues")
        balance = check.finding_ids.filtered(lambda f: f.rule == "balance")
        self.assertEqual(balance.membership_id, member)
        self.assertEqual(balance.record_name, member.display_name)
        self.assertTrue(balance.expected.endswith(f"/ {member.points_pending - 7}"))
        action = balance.action_open_record()
        self.assertEqual(
            (action["res_model"], action["res_id"]), ("customer.membership", member.id)
        )

    def test_unserved_spend_and_out_of_bounds(self):
        redeem = self.coupon.point_entry_id
        # a redemption whose points were never taken: consumption rows gone
        self._sql(
            "DELETE FROM customer_point_consumption WHERE consumer_entry_id = %s",
            redeem.id,
        )
        self._sql(
            "UPDATE customer_point_entry SET remaining_points = points WHERE id = %s",
            redeem.id,
        )
        _check, found = self._check()
        self.assertIn(("points_left", "customer.point.entry", redeem.id), found)

    def test_negative_balance(self):
        member = self.other_member
        self._sql(
            "UPDATE customer_membership SET points_balance = -40,"
            " has_negative_balance = TRUE WHERE id = %s",
            member.id,
        )
        self._sql(
            "UPDATE customer_membership SET has_negative_balance = TRUE WHERE id = %s",
            self.membership.id,
        )
        check, found = self._check()
        self.assertIn(("negative", "customer.membership", member.id), found)
        self.assertIn(("negative", "customer.membership", self.membership.id), found)
        details = check.finding_ids.filtered(
            lambda f: f.rule == "negative" and f.membership_id == member
        ).detail
        self.assertIn("no reversal owes points", details)

    def test_order_earned_twice_and_reversals(self):
        earn = self._earn_of(self.big_order)
        self._sql(
            """
            INSERT INTO customer_point_entry (membership_id, company_id, partner_id,
                   kind, points, remaining_points, state, date, sale_order_id)
            SELECT membership_id, company_id, partner_id, kind, points, points,
                   state, date, sale_order_id
              FROM customer_point_entry WHERE id = %s
            """,
            earn.id,
        )
        cancel_reversal = self.Entry.search(
            [
                ("reversed_entry_id", "in", self._earn_of(self.reconfirmed).ids),
                ("credit_note_id", "=", False),
            ]
        )
        self.assertEqual(len(cancel_reversal), 1)
        # a unique index guards it; a dump restored without it does not
        self._sql("DROP INDEX customer_point_entry_cancel_once")
        self._sql("DROP INDEX customer_point_entry_credit_once")
        self._sql(
            """
            INSERT INTO customer_point_entry (membership_id, company_id, partner_id,
                   kind, points, remaining_points, state, date, sale_order_id,
                   reversed_entry_id)
            SELECT membership_id, company_id, partner_id, kind, points, 0,
                   state, date, sale_order_id, reversed_entry_id
              FROM customer_point_entry WHERE id = %s
            """,
            cancel_reversal.id,
        )
        credit_reversal = self.Entry.search([("credit_note_id", "=", self.refund.id)])
        self.assertEqual(len(credit_reversal), 1)
        self._sql(
            """
            INSERT INTO customer_point_entry (membership_id, company_id, partner_id,
                   kind, points, remaining_points, state, date, sale_order_id,
                   reversed_entry_id, credit_note_id)
            SELECT membership_id, company_id, partner_id, kind, points, 0,
                   state, date, sale_order_id, reversed_entry_id, credit_note_id
              FROM customer_point_entry WHERE id = %s
            """,
            credit_reversal.id,
        )
        _check, found = self._check()
        self.assertIn(("order_earned_twice", "sale.order", self.big_order.id), found)
        self.assertIn(
            (
                "reversed_twice",
                "customer.point.entry",
                cancel_reversal.reversed_entry_id.id,
            ),
            found,
        )
        self.assertIn(("credit_note_twice", "account.move", self.refund.id), found)

    def test_cancelled_order_not_reversed(self):
        earn = self._earn_of(self.cancelled)
        reversal = earn.reversal_ids
        self.assertEqual(len(reversal), 1)
        self._sql(
            "DELETE FROM customer_point_consumption WHERE consumer_entry_id = %s",
            reversal.id,
        )
        self._sql("DELETE FROM customer_point_entry WHERE id = %s", reversal.id)
        _check, found = self._check()
        self.assertIn(("order_not_reversed", "customer.point.entry", earn.id), found)

    def test_reward_oversold(self):
        self._sql(
            "UPDATE customer_reward SET limit_qty = 1, limit_period = 'total'"
            " WHERE id = %s",
            self.reward.id,
        )
        check, found = self._check()
        self.assertIn(("reward_oversold", "customer.reward", self.reward.id), found)
        finding = check.finding_ids.filtered(lambda f: f.rule == "reward_oversold")
        self.assertEqual((finding.expected, finding.found), ("1", "2"))

    def test_coupons(self):
        batch_coupons = self.batch.coupon_ids.filtered(
            lambda c: c.membership_id == self.other_member
        )
        self.assertEqual(len(batch_coupons), 2)
        # the unique index is the guard; a restored dump may lack it
        self._sql(
            "ALTER TABLE customer_coupon"
            " DROP CONSTRAINT customer_coupon_batch_member_uniq"
        )
        self._sql(
            "UPDATE customer_coupon SET batch_index = 1 WHERE id = ANY(%s)",
            batch_coupons.ids,
        )
        self._sql(
            "ALTER TABLE loyalty_card DROP CONSTRAINT IF EXISTS"
            " loyalty_card_card_code_unique"
        )
        self._sql(
            "UPDATE loyalty_card SET code = %s WHERE id = %s",
            self.coupon.code,
            self.coupon2.card_id.id,
        )
        self._sql(
            "UPDATE customer_coupon SET state = 'issued' WHERE id = %s",
            self.coupon.id,
        )
        self._sql(
            "UPDATE customer_coupon SET state = 'used' WHERE id = %s",
            batch_coupons[0].id,
        )
        _check, found = self._check()
        self.assertIn(
            ("batch_coupon_twice", "customer.coupon.batch", self.batch.id), found
        )
        self.assertIn(
            ("coupon_code_twice", "loyalty.card", self.coupon.card_id.id), found
        )
        self.assertIn(("coupon_usage", "customer.coupon", self.coupon.id), found)
        self.assertIn(("coupon_usage", "customer.coupon", batch_coupons[0].id), found)

    def test_batch_over_its_limit(self):
        self._sql(
            "UPDATE customer_coupon_batch SET per_customer_limit = 1 WHERE id = %s",
            self.batch.id,
        )
        _check, found = self._check()
        self.assertIn(
            ("batch_coupon_twice", "customer.coupon.batch", self.batch.id), found
        )

    def test_campaign_gift_to_a_control_member(self):
        self.company.write(
            {"loyalty_quiet_hours_start": 0.0, "loyalty_quiet_hours_end": 0.0}
        )
        self.customer.birthdate_date = self.today.replace(year=1990)
        campaign = self.env["customer.campaign"].create(
            {
                "name": "Birthday points",
                "company_id": self.company.id,
                "trigger": "birthday",
                "catch_up_days": 0,
                "channel": "none",
                "bonus_points": 25,
                "control_share": 0,
                "state": "running",
            }
        )
        campaign._run()
        delivery = self.env["customer.campaign.delivery"].search(
            [("campaign_id", "=", campaign.id)]
        )
        self.assertEqual(delivery.state, "sent")
        _check, found = self._check()
        self.assertNotIn(
            ("campaign_delivery", "customer.campaign.delivery", delivery.id), found
        )
        # restored from a dump where the delivery is a control one
        self._sql(
            "UPDATE customer_campaign_delivery SET state = 'control' WHERE id = %s",
            delivery.id,
        )
        _check, found = self._check()
        self.assertIn(
            ("campaign_delivery", "customer.campaign.delivery", delivery.id), found
        )

    def test_statistics_and_tiers(self):
        member = self.membership
        self._sql(
            "UPDATE customer_membership SET order_count = order_count + 1,"
            " tier_id = %s WHERE id = %s",
            self.silver.id,
            member.id,
        )
        check, found = self._check()
        self.assertIn(("statistics", "customer.membership", member.id), found)
        self.assertIn(("tier", "customer.membership", member.id), found)
        tier = check.finding_ids.filtered(lambda f: f.rule == "tier")
        self.assertEqual((tier.expected, tier.found), ("Gold", "Silver"))
        # a member left without the tier they qualify for
        self._sql(
            "UPDATE customer_membership SET tier_id = NULL WHERE id = %s", member.id
        )
        check, found = self._check()
        tier = check.finding_ids.filtered(lambda f: f.rule == "tier")
        self.assertEqual((tier.expected, tier.found), ("Gold", "no tier"))
        self._sql(
            "UPDATE customer_membership SET tier_id = %s WHERE id = %s",
            self.silver.id,
            member.id,
        )
        # the check writes nothing: the tier is still wrong, the figures too
        member.invalidate_recordset()
        self.assertEqual(member.tier_id, self.silver)
        self.assertFalse(
            self.env["customer.tier.change"].search(
                [("membership_id", "=", member.id), ("create_date", ">=", check.date)]
            )
        )

    def test_other_company_not_reported(self):
        other = self.env["res.company"].create({"name": "Other Co"})
        member = self.Membership.sudo().create(
            {"partner_id": self.other.id, "company_id": other.id}
        )
        self._sql(
            "UPDATE customer_membership SET points_balance = 99 WHERE id = %s",
            member.id,
        )
        _check, found = self._check()
        self.assertEqual(found, set())
        check_other = self.Check._check_companies(other)
        self.assertEqual(
            {(f.rule, f.res_id) for f in check_other.finding_ids},
            {("balance", member.id)},
        )

    def test_action_rights_and_daily_job(self):
        salesperson = new_test_user(
            self.env,
            login="rc_check_sales",
            groups="sales_team.group_sale_salesman,repeat_customer.group_user",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        with self.assertRaises(AccessError):
            self.Check.with_user(salesperson)._check_companies(self.company)
        with self.assertRaises(AccessError):
            self.Check.with_user(salesperson).action_run_check()
        manager = new_test_user(
            self.env,
            login="rc_check_manager",
            groups="sales_team.group_sale_manager,repeat_customer.group_manager",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        action = (
            self.Check.with_user(manager)
            .with_context(allowed_company_ids=self.company.ids)
            .action_run_check()
        )
        check = self.Check.browse(action["res_id"])
        self.assertEqual(check.state, "ok")
        self.assertEqual(check.user_id, manager)
        again = self.Check.browse(check.with_user(manager).action_rerun()["res_id"])
        self.assertNotEqual(again, check)
        self.assertEqual(again.company_id, self.company)
        # the daily job posts its findings to the company's managers
        self.company.loyalty_points_enabled = True
        self._sql(
            "UPDATE customer_membership SET points_balance = points_balance + 1"
            " WHERE id = %s",
            self.membership.id,
        )
        self.Check._cron_check_integrity()
        daily = self.Check.search([("company_id", "=", self.company.id)], limit=1)
        self.assertEqual(daily.state, "issues")
        message = daily.message_ids.filtered(lambda m: "discrepancies" in m.body)
        self.assertIn(manager.partner_id, message.partner_ids)
        self.assertNotIn(salesperson.partner_id, message.partner_ids)
