import re
from datetime import timedelta
from unittest.mock import patch

import psycopg2.errors

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import RewardsCase

CODE_RE = re.compile(r"^RC[23456789ABCDEFGHJKMNPQRSTVWXYZ]{16}$")


@tagged("post_install", "-at_install")
class TestRedeemRewards(RewardsCase):
    def test_redeem_issues_a_coupon_in_one_go(self):
        membership = self._member(self.customer, 500)
        mails_before = self.env["mail.mail"].search_count([])
        coupon = self.reward._redeem(membership)
        self.assertEqual(len(coupon), 1)
        # the ledger line
        redeem = self._entries(membership, kind="redeem")
        self.assertEqual(redeem.points, -200)
        self.assertEqual(redeem.reward_id, self.reward)
        self.assertEqual(coupon.point_entry_id, redeem)
        self._assert_balances_match_ledger(membership)
        self.assertEqual(membership.points_balance, 300)
        # the native coupon, reserved for the customer, with its expiry
        card = coupon.card_id
        self.assertEqual(card.program_id, self.program)
        self.assertEqual(card.partner_id, self.customer)
        self.assertEqual(card.points, 1)
        self.assertEqual(card.expiration_date, self.today + timedelta(days=30))
        self.assertRegex(card.code, CODE_RE)
        self.assertEqual(coupon.state, "issued")
        self.assertEqual(coupon.origin, "reward")
        # mailed with the programme's template
        self.assertEqual(coupon.mail_state, "sent")
        mail = self.env["mail.mail"].search([], order="id desc", limit=1)
        self.assertEqual(self.env["mail.mail"].search_count([]), mails_before + 1)
        self.assertEqual(mail.model, "loyalty.card")
        self.assertEqual(mail.res_id, card.id)
        self.assertIn(self.customer, mail.recipient_ids)
        self.assertIn(card.code, str(mail.body_html))
        self.assertEqual(membership.coupon_count, 1)
        self.assertEqual(self.reward.coupon_count, 1)

    def test_not_enough_points(self):
        membership = self._member(self.customer, 150)
        before = self._snapshot(membership)
        with self.assertRaisesRegex(UserError, "150 points available"):
            self.reward._redeem(membership)
        self.assertEqual(self._snapshot(membership), before)

    def test_reward_reserved_to_tiers(self):
        gold = self.env["customer.tier"].create(
            {"name": "Gold", "company_id": self.company.id, "threshold": 1000}
        )
        self.reward.tier_ids = gold
        membership = self._member(self.customer, 500)
        before = self._snapshot(membership)
        with self.assertRaisesRegex(UserError, "for members of the tiers Gold"):
            self.reward._redeem(membership)
        self.assertEqual(self._snapshot(membership), before)
        membership.sudo().write(
            {
                "tier_floor_id": gold.id,
                "tier_floor_end_date": self.today + timedelta(days=30),
            }
        )
        self.env["customer.tier"]._apply_tiers(self.company, membership.ids)
        self.assertEqual(membership.tier_id, gold)
        self.assertTrue(self.reward._redeem(membership))

    def test_dates_and_archived(self):
        membership = self._member(self.customer, 500)
        self.reward.date_from = self.today + timedelta(days=1)
        with self.assertRaisesRegex(UserError, "available from"):
            self.reward._redeem(membership)
        self.reward.write(
            {
                "date_from": self.today - timedelta(days=10),
                "date_to": self.today - timedelta(days=1),
            }
        )
        with self.assertRaisesRegex(UserError, "was available until"):
            self.reward._redeem(membership)
        self.reward.write({"date_to": False, "active": False})
        with self.assertRaisesRegex(UserError, "no longer offered"):
            self.reward._redeem(membership)
        membership.sudo().state = "blocked"
        self.reward.active = True
        with self.assertRaisesRegex(UserError, "blocked"):
            self.reward._redeem(membership)
        self.assertFalse(self._entries(membership, kind="redeem"))

    def test_stock_per_period(self):
        self.reward.write({"limit_qty": 2, "limit_period": "month"})
        first = self._member(self.customer, 1000)
        second = self._member(self.other, 1000)
        coupon = self.reward._redeem(first)
        self.reward._redeem(second)
        self.assertEqual(self.reward.stock_left, 0)
        before = self._snapshot(first)
        with self.assertRaisesRegex(UserError, "out of stock for this period"):
            self.reward._redeem(first)
        self.assertEqual(self._snapshot(first), before)
        # a cancelled coupon gives its points and its unit back
        coupon.action_cancel()
        self.assertEqual(coupon.state, "cancelled")
        self.assertFalse(coupon.card_id.active)
        first.invalidate_recordset()
        self.assertEqual(first.points_balance, 1000)
        self._assert_balances_match_ledger(first)
        self.reward.invalidate_recordset()
        self.assertEqual(self.reward.stock_left, 1)
        self.reward._redeem(first)
        # last month's redemptions do not count this month
        self.assertEqual(
            self.reward._period_start(self.today), self.today.replace(day=1)
        )
        self.assertEqual(
            self.reward._given_counts(self.today + timedelta(days=40))[self.reward.id],
            0,
        )

    def test_bad_rewards(self):
        with self.assertRaisesRegex(ValidationError, "choose its coupon programme"):
            self.Reward.create({"name": "No programme", "points_cost": 10})
        promotion = self.env["loyalty.program"].create(
            {
                "name": "Promo",
                "program_type": "promotion",
                "company_id": self.company.id,
            }
        )
        with self.assertRaisesRegex(ValidationError, "must be a coupon programme"):
            self.Reward.create(
                {"name": "Promo", "points_cost": 10, "program_id": promotion.id}
            )
        with self.assertRaisesRegex(ValidationError, "must be above 0"):
            self.Reward.create(
                {"name": "Nothing off", "points_cost": 10, "reward_type": "discount"}
            )
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.errors.CheckViolation),
            self.cr.savepoint(),
        ):
            self.reward.points_cost = -5
            self.reward.flush_recordset()
        with self.assertRaisesRegex(ValidationError, "ends before it starts"):
            self.reward.write(
                {"date_from": self.today, "date_to": self.today - timedelta(days=1)}
            )

    def test_discount_reward_on_quotation(self):
        discount = self.Reward.create(
            {
                "name": "5 EUR off",
                "company_id": self.company.id,
                "points_cost": 300,
                "reward_type": "discount",
                "discount_amount": 5.0,
            }
        )
        membership = self._member(self.customer, 500)
        with self.assertRaisesRegex(UserError, "redeem it on a quotation"):
            discount._redeem(membership)
        order = self._quotation(self.customer, 80.0)
        wizard = self.env["customer.reward.redeem.wizard"].create(
            {"order_id": order.id, "reward_id": discount.id}
        )
        self.assertEqual(wizard.membership_id, membership)
        self.assertFalse(wizard.unavailable_reason)
        wizard.action_redeem()
        line = order.order_line.filtered("loyalty_point_entry_id")
        self.assertEqual(line.price_unit, -5.0)
        self.assertEqual(order.amount_untaxed, 75.0)
        self.assertEqual(line.loyalty_point_entry_id.reward_id, discount)
        self.assertEqual(membership.points_balance, 200)
        # removing the line gives the points back
        line.unlink()
        membership.invalidate_recordset()
        self.assertEqual(membership.points_balance, 500)
        self._assert_balances_match_ledger(membership)

    def test_redeem_wizard_from_membership(self):
        membership = self._member(self.customer, 500)
        action = membership.action_redeem_reward()
        with Form(
            self.env[action["res_model"]].with_context(**action["context"])
        ) as form:
            form.reward_id = self.reward
        wizard = form.record
        result = wizard.action_redeem()
        self.assertEqual(result["res_id"], wizard.id, "the wizard shows the code")
        self.assertRegex(wizard.coupon_code, CODE_RE)
        with self.assertRaisesRegex(UserError, "already redeemed"):
            wizard.action_redeem()
        self.assertEqual(len(self._entries(membership, kind="redeem")), 1)


@tagged("post_install", "-at_install")
class TestCouponUse(RewardsCase):
    def test_coupon_is_used_on_the_customers_order(self):
        membership = self._member(self.customer, 500)
        coupon = self.reward._redeem(membership)
        order = self._quotation(self.customer, 100.0)
        self._apply_code(order, coupon.code)
        reward_line = order.order_line.filtered("is_reward_line")
        self.assertEqual(reward_line.coupon_id, coupon.card_id)
        self.assertAlmostEqual(order.amount_untaxed, 90.0)
        order.action_confirm()
        self.assertEqual(coupon.state, "used")
        self.assertEqual(coupon.order_id, order)
        self.assertEqual(coupon.used_count, 1)
        self.assertEqual(coupon.redemption_rate, 100)
        self.assertAlmostEqual(coupon.order_amount, 90.0)
        self.assertEqual(coupon.card_id.points, 0)
        # used: another quotation of the same customer cannot take it again
        second = self._quotation(self.customer, 100.0)
        with self.assertRaisesRegex(ValidationError, "already been used"):
            self._apply_code(second, coupon.code)
        self.assertEqual(len(second.order_line), 1)
        # cancelling the order frees the coupon again
        order._action_cancel()
        self.assertEqual(coupon.state, "issued")
        self.assertFalse(coupon.order_id)
        self.assertEqual(coupon.used_count, 0)

    def test_coupon_refused_on_another_customers_order(self):
        coupon = self.reward._redeem(self._member(self.customer, 500))
        order = self._quotation(self.other, 100.0)
        with self.assertRaisesRegex(ValidationError, "issued to another customer"):
            self._apply_code(order, coupon.code)
        self.assertEqual(len(order.order_line), 1)
        self.assertEqual(order.amount_untaxed, 100.0)
        self.assertFalse(order.applied_coupon_ids)
        self.assertEqual(coupon.card_id.points, 1)
        # a contact of the customer's company may use it
        contact = self._partner("Lin Mei's assistant", parent_id=self.customer.id)
        order = self._quotation(contact, 100.0)
        self._apply_code(order, coupon.code)
        self.assertAlmostEqual(order.amount_untaxed, 90.0)
        # switching the quotation to another customer blocks its confirmation
        order.partner_id = self.other
        with self.assertRaisesRegex(UserError, "issued to another customer"):
            order.action_confirm()
        self.assertEqual(order.state, "draft")
        self.assertEqual(coupon.state, "issued")

    def test_expired_coupon(self):
        coupon = self.reward._redeem(self._member(self.customer, 500))
        coupon.card_id.expiration_date = self.today - timedelta(days=1)
        order = self._quotation(self.customer, 100.0)
        with self.assertRaisesRegex(ValidationError, "expired"):
            self._apply_code(order, coupon.code)
        self.assertEqual(len(order.order_line), 1)
        self.assertFalse(order.applied_coupon_ids)
        # the daily job marks it expired, once
        self.assertEqual(self.Coupon._cron_expire_coupons(), 0)
        self.assertEqual(coupon.state, "expired")

    def test_codes_are_random_and_unique(self):
        codes = self.Coupon._new_codes(300)
        self.assertEqual(len(set(codes)), 300)
        for code in codes:
            self.assertRegex(code, CODE_RE)
        # a code already in the database is drawn again, not reused
        taken = self.reward._redeem(self._member(self.customer, 500)).code
        draws = iter([taken, "RC" + "A" * 16])
        with patch.object(
            type(self.Coupon), "_generate_code", lambda self: next(draws)
        ):
            self.assertEqual(self.Coupon._new_codes(1), ["RC" + "A" * 16])


@tagged("post_install", "-at_install")
class TestRewardsOnTheQuotation(RewardsCase):
    """A reward bought for the quotation lands on it; the member's unused
    coupons are in Odoo's Reward selection, no code typed."""

    def _redeem_on(self, order, reward):
        action = order.action_loyalty_redeem_reward()
        with Form(
            self.env[action["res_model"]].with_context(**action["context"])
        ) as form:
            form.reward_id = reward
        return form.record, form.record.action_redeem()

    def test_a_reward_bought_for_the_quotation_lands_on_it(self):
        membership = self._member(self.customer, 500)
        order = self._quotation(self.customer, 100.0)
        self.assertEqual(order.loyalty_points_balance, 500)
        wizard, result = self._redeem_on(order, self.reward)
        self.assertEqual(result["tag"], "display_notification")
        self.assertIn("applied to", result["params"]["message"])
        line = order.order_line.filtered("is_reward_line")
        self.assertEqual(line.coupon_id, wizard.coupon_id.card_id)
        self.assertAlmostEqual(order.amount_untaxed, 90.0)
        self.assertEqual(membership.points_balance, 300)
        self.assertEqual(order.loyalty_coupon_count, 0)
        order.action_confirm()
        self.assertEqual(wizard.coupon_id.state, "used")

    def test_a_coupon_the_quotation_cannot_take_stays_with_the_customer(self):
        self._member(self.customer, 500)
        self.program.rule_ids = [
            Command.clear(),
            Command.create(
                {"minimum_amount": 500.0, "minimum_amount_tax_mode": "excl"}
            ),
        ]
        order = self._quotation(self.customer, 100.0)
        wizard, result = self._redeem_on(order, self.reward)
        self.assertEqual(result.get("res_id"), wizard.id, result)
        self.assertTrue(wizard.not_applied_reason)
        self.assertFalse(order.order_line.filtered("is_reward_line"))
        self.assertEqual(wizard.coupon_id.state, "issued")
        self.assertNotIn(wizard.coupon_id.card_id, order.applied_coupon_ids)
        # a larger order takes it with the Reward button alone
        order.order_line.price_unit = 600.0
        self.assertEqual(order.loyalty_coupon_count, 1)
        self.assertTrue(order.action_open_reward_wizard())
        self.assertEqual(
            order.order_line.filtered("is_reward_line").coupon_id,
            wizard.coupon_id.card_id,
        )
        # and a user cannot forge the explanation
        user = new_test_user(
            self.env,
            login="rc_not_applied_forger",
            groups="sales_team.group_sale_salesman,repeat_customer.group_user",
        )
        with self.assertRaises(AccessError):
            self.env["customer.reward.redeem.wizard"].with_user(user).create(
                {"not_applied_reason": "forged"}
            )

    def test_the_reward_button_offers_the_members_coupons(self):
        membership = self._member(self.customer, 1000)
        first = self.reward._redeem(membership)
        other_programme = self._coupon_program("5 EUR voucher", 5.0)
        second = self.Reward.create(
            {
                "name": "5 EUR voucher for 100 points",
                "company_id": self.company.id,
                "points_cost": 100,
                "reward_type": "coupon",
                "program_id": other_programme.id,
            }
        )._redeem(membership)
        # not offered: used, expired, cancelled, another customer's
        expired = self.reward._redeem(membership)
        expired.card_id.expiration_date = self.today - timedelta(days=1)
        cancelled = self.reward._redeem(membership)
        cancelled.action_cancel()
        self.reward._redeem(self._member(self.other, 500))
        order = self._quotation(self.customer, 100.0)
        self.assertEqual(order.loyalty_coupon_count, 2)
        action = order.action_open_reward_wizard()
        self.assertEqual(action["res_model"], "sale.loyalty.reward.wizard")
        wizard = self.env["sale.loyalty.reward.wizard"].with_context(active_id=order.id)
        offered = wizard.new({}).reward_ids._origin
        self.assertEqual(
            offered,
            first.card_id.program_id.reward_ids | second.card_id.program_id.reward_ids,
        )
        wizard.create(
            {"selected_reward_id": second.card_id.program_id.reward_ids.id}
        ).action_apply()
        self.assertEqual(
            order.order_line.filtered("is_reward_line").coupon_id, second.card_id
        )
        self.assertAlmostEqual(order.amount_untaxed, 95.0)
        # another customer's quotation is offered none of them
        foreign = self._quotation(self.other, 100.0)
        self.assertEqual(foreign.loyalty_coupon_count, 1)
        self.assertNotIn(first.card_id, foreign._loyalty_member_coupons())
        # a salesperson presses the Reward button on her own quotation
        salesman = new_test_user(
            self.env,
            login="rc_reward_button_sales",
            groups="sales_team.group_sale_salesman,repeat_customer.group_user",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        self.customer.user_id = salesman
        mine = self._quotation(self.customer, 100.0)
        mine.user_id = salesman
        self.assertTrue(mine.with_user(salesman).action_open_reward_wizard())


@tagged("post_install", "-at_install")
class TestCouponBatches(RewardsCase):
    def _batch(self, **vals):
        return self.env["customer.coupon.batch"].create(
            {
                "name": "Spring",
                "company_id": self.company.id,
                "program_id": self.program.id,
                **vals,
            }
        )

    def test_batch_twice_is_idempotent(self):
        members = self._member(self.customer) | self._member(self.other)
        batch = self._batch(target="members", membership_ids=[Command.set(members.ids)])
        self.assertEqual(batch.target_count, 2)
        self.assertEqual(batch.to_issue_count, 2)
        batch.action_issue()
        self.assertEqual(batch.state, "done")
        self.assertEqual(batch.coupon_count, 2)
        self.assertEqual(batch.coupon_ids.partner_id, self.customer | self.other)
        self.assertEqual(batch.to_issue_count, 0)
        batch.action_issue()
        batch.invalidate_recordset()
        self.assertEqual(batch.coupon_count, 2, "issuing again gives nothing more")
        # raising the per-customer limit issues only the difference
        batch.per_customer_limit = 3
        batch.action_issue()
        batch.invalidate_recordset()
        self.assertEqual(batch.coupon_count, 6)
        self.assertEqual(
            sorted(batch.coupon_ids.mapped("batch_index")), [1, 1, 2, 2, 3, 3]
        )
        self.assertFalse(self.Entry.search([("membership_id", "in", members.ids)]))

    def test_opt_out_is_respected(self):
        keen = self._member(self.customer)
        shy = self._member(self.other)
        shy.marketing_opt_out = True
        blacklisted = self._member(self._partner("Zhao Lei", email="zhao@example.com"))
        self.env["mail.blacklist"].sudo()._add("zhao@example.com")
        batch = self._batch(
            target="members",
            membership_ids=[Command.set((keen | shy | blacklisted).ids)],
        )
        self.assertEqual(batch.opted_out_count, 2)
        mails_before = self.env["mail.mail"].search([])
        batch.action_issue()
        # issuing is quick; the mailing job renders the mails afterwards
        self.assertEqual(set(batch.coupon_ids.mapped("mail_state")), {"to_send"})
        self.assertEqual(self.env["mail.mail"].search([]), mails_before)
        self.assertEqual(self.Coupon._cron_send_coupon_mails(), 0)
        mails = self.env["mail.mail"].search([]) - mails_before
        self.assertEqual(mails.recipient_ids, self.customer)
        states = {c.partner_id: c.mail_state for c in batch.coupon_ids}
        self.assertEqual(states[self.customer], "sent")
        self.assertEqual(states[self.other], "opted_out")
        self.assertEqual(states[blacklisted.partner_id], "opted_out")
        self.assertEqual(len(batch.coupon_ids), 3, "opted-out customers get coupons")
        # a second run mails nobody twice
        self.assertEqual(self.Coupon._cron_send_coupon_mails(), 0)
        self.assertEqual(self.env["mail.mail"].search([]) - mails_before, mails)

    def test_targets(self):
        gold = self.env["customer.tier"].create(
            {"name": "Gold", "company_id": self.company.id, "threshold": 1000}
        )
        in_tier = self._member(self.customer)
        in_tier.sudo().tier_id = gold
        other = self._member(self.other)
        blocked = self._member(self._partner("Blocked Bo"))
        blocked.sudo().state = "blocked"
        self.assertEqual(self._batch(target="tier", tier_ids=gold.ids).target_count, 1)
        segment = self.env["customer.segment"].search([], limit=1)
        other.sudo().segment_id = segment
        self.assertEqual(
            self._batch(target="segment", segment_ids=segment.ids).target_count, 1
        )
        by_filter = self._batch(
            target="filter", filter_domain=f"[('partner_id', '=', {self.other.id})]"
        )
        self.assertEqual(by_filter.target_count, 1)
        everyone = self._batch(target="filter", filter_domain="[]")
        self.assertEqual(everyone.target_count, 2, "blocked members get nothing")
        with self.assertRaisesRegex(ValidationError, "not a valid filter"):
            self._batch(target="filter", filter_domain="[('no_such_field', '=', 1)]")
        with self.assertRaisesRegex(ValidationError, "at least one coupon"):
            self._batch(target="filter", per_customer_limit=0)
        with self.assertRaisesRegex(UserError, "targets no active member"):
            self._batch(target="members").action_issue()

    def test_large_batch_goes_to_the_job_in_chunks(self):
        members = self.Membership
        for index in range(5):
            members |= self._member(self._partner(f"Chunk {index}"))
        self.env["ir.config_parameter"].set_param(
            "repeat_customer.coupon_issue_chunk", "2"
        )
        batch = self._batch(target="members", membership_ids=[Command.set(members.ids)])
        batch.action_issue()
        self.assertEqual(batch.state, "running")
        self.assertEqual(batch.coupon_count, 2)
        Batch = self.env["customer.coupon.batch"]
        self.assertEqual(Batch._cron_issue_coupon_batches(), 1)
        self.assertEqual(Batch._cron_issue_coupon_batches(), 0)
        self.assertEqual(batch.state, "done")
        batch.invalidate_recordset()
        self.assertEqual(batch.coupon_count, 5)
        self.assertEqual(len(batch.coupon_ids.membership_id), 5)
        # nothing left: another run does nothing
        self.assertEqual(Batch._cron_issue_coupon_batches(), 0)
        self.assertEqual(len(batch.coupon_ids), 5)

    def test_server_action_and_rights(self):
        members = self._member(self.customer) | self._member(self.other)
        action = self.env.ref(
            "repeat_customer.customer_membership_action_issue_coupons"
        )
        result = action.with_context(
            active_model="customer.membership", active_ids=members.ids
        ).run()
        self.assertEqual(result["res_model"], "customer.coupon.batch")
        self.assertEqual(result["context"]["default_membership_ids"], members.ids)
        salesman = new_test_user(
            self.env,
            login="batch_salesman",
            groups="sales_team.group_sale_salesman,repeat_customer.group_user",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        with self.assertRaises(AccessError):
            self._batch(target="members").with_user(salesman).write({"name": "Mine"})
        batch = self._batch(target="members", membership_ids=members.ids)
        with self.assertRaisesRegex(UserError, "Only loyalty managers"):
            batch.with_user(salesman).action_issue()
        self.assertFalse(batch.coupon_ids)


@tagged("post_install", "-at_install")
class TestTierRewards(RewardsCase):
    def test_reaching_a_tier_issues_its_reward_once(self):
        gift_program = self._coupon_program("Gold welcome gift", 20.0)
        gift = self.Reward.create(
            {
                "name": "Gold welcome gift",
                "company_id": self.company.id,
                "points_cost": 0,
                "program_id": gift_program.id,
            }
        )
        with self.assertRaisesRegex(UserError, "costs no points"):
            gift._redeem(self._member(self.customer, 500))
        self.company.loyalty_tier_rule = "spend"
        gold = self.env["customer.tier"].create(
            {
                "name": "Gold",
                "company_id": self.company.id,
                "threshold": 500,
                "reward_id": gift.id,
            }
        )
        self._order(self.customer, 600.0)
        membership = self._membership(self.customer)
        self.assertEqual(membership.tier_id, gold)
        change = membership.tier_change_ids
        self.assertEqual(change.reward_state, "to_issue")
        TierChange = self.env["customer.tier.change"]
        self.assertEqual(TierChange._cron_issue_tier_rewards(), 0)
        self.assertEqual(change.reward_state, "issued")
        coupon = change.coupon_ids
        self.assertEqual(len(coupon), 1)
        self.assertEqual(coupon.origin, "tier")
        self.assertEqual(coupon.card_id.program_id, gift_program)
        self.assertEqual(coupon.partner_id, self.customer)
        self.assertFalse(coupon.point_entry_id, "a tier reward costs no points")
        TierChange._cron_issue_tier_rewards()
        self.assertEqual(
            self.Coupon.search_count([("tier_change_id", "=", change.id)]), 1
        )
        # the gift counts in the reward's stock
        self.assertEqual(gift._given_counts()[gift.id], 1)

    def test_tier_reward_must_be_a_coupon(self):
        discount = self.Reward.create(
            {
                "name": "Off",
                "company_id": self.company.id,
                "points_cost": 10,
                "reward_type": "discount",
                "discount_amount": 1.0,
            }
        )
        with self.assertRaisesRegex(ValidationError, "must give a coupon"):
            self.env["customer.tier"].create(
                {
                    "name": "Silver",
                    "company_id": self.company.id,
                    "threshold": 100,
                    "reward_id": discount.id,
                }
            )


@tagged("post_install", "-at_install")
class TestCouponSecurity(RewardsCase):
    def test_salesperson_sees_own_customers_coupons(self):
        salesman = new_test_user(
            self.env,
            login="coupon_salesman",
            groups="sales_team.group_sale_salesman,repeat_customer.group_user",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        mine = self._member(self.customer, 500)
        mine.sudo().user_id = salesman
        theirs = self._member(self.other, 500)
        my_coupon = self.reward._redeem(mine)
        self.reward._redeem(theirs)
        visible = self.Coupon.with_user(salesman).search([])
        self.assertEqual(visible, my_coupon)
        # the salesperson redeems for their own customer through the wizard
        wizard = (
            self.env["customer.reward.redeem.wizard"]
            .with_user(salesman)
            .create({"membership_id": mine.id, "reward_id": self.reward.id})
        )
        wizard.action_redeem()
        self.assertEqual(
            self.Coupon.with_user(salesman).search_count(
                [("membership_id", "=", mine.id)]
            ),
            2,
        )
        with self.assertRaisesRegex(UserError, "Only loyalty managers"):
            my_coupon.with_user(salesman).action_cancel()
        # another salesperson's customer cannot be redeemed for (the wizard
        # refuses their membership as soon as it is passed in)
        with self.assertRaises(AccessError):
            self.env["customer.reward.redeem.wizard"].with_user(salesman).create(
                {"membership_id": theirs.id, "reward_id": self.reward.id}
            ).action_redeem()
        theirs.invalidate_recordset()
        self.assertEqual(theirs.points_balance, 300)
