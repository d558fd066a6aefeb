from datetime import timedelta

from dateutil.relativedelta import relativedelta
from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import PointsCase, run_until_done


@tagged("post_install", "-at_install")
class TestEarning(PointsCase):
    def test_earn_pending_then_available(self):
        order = self._order(self.customer, 1234.56)
        membership = self._membership(self.customer)
        earned = self._entries(membership, kind="earn")
        self.assertEqual(len(earned), 1)
        self.assertEqual(earned.points, 1234)  # rounded down
        self.assertEqual(earned.state, "pending")
        self.assertEqual(earned.sale_order_id, order)
        self.assertEqual(earned.available_date, self.today + timedelta(days=14))
        self.assertEqual(earned.expiry_date, self.today + relativedelta(months=12))
        self.assertEqual(membership.points_pending, 1234)
        self.assertEqual(membership.points_balance, 0)
        self.assertEqual(order.loyalty_points_earned, 1234)
        # the day before the window ends nothing moves
        self._release(13)
        self.assertEqual(earned.state, "pending")
        self._release(14)
        earned.invalidate_recordset()
        self.assertEqual(earned.state, "available")
        self.assertEqual(membership.points_balance, 1234)
        self.assertEqual(membership.points_pending, 0)
        # a second run finds nothing more to do
        self._release(15)
        self.assertEqual(membership.points_balance, 1234)
        self._assert_balances_match_ledger(membership)

    def test_rounding_settings(self):
        self.company.loyalty_points_rounding = "half"
        self._order(self.customer, 10.5)
        self.company.loyalty_points_rounding = "up"
        self._order(self.customer, 10.2)
        self.company.loyalty_points_rounding = "down"
        self._order(self.customer, 10.9)
        points = self._entries(self._membership(self.customer), kind="earn").mapped(
            "points"
        )
        self.assertEqual(points, [11, 11, 10])

    def test_exclusions_and_multipliers(self):
        tea = self.env["product.category"].create({"name": "Tea"})
        green = self.env["product.category"].create(
            {"name": "Green", "parent_id": tea.id}
        )
        cards = self.env["product.category"].create({"name": "Gift cards"})
        green_tea = self.env["product.product"].create(
            {"name": "Longjing", "categ_id": green.id, "taxes_id": [Command.clear()]}
        )
        gift_card = self.env["product.product"].create(
            {"name": "Gift card", "categ_id": cards.id, "taxes_id": [Command.clear()]}
        )
        delivery = self.env["product.product"].create(
            {"name": "Delivery", "type": "service", "taxes_id": [Command.clear()]}
        )
        self.company.write(
            {
                "loyalty_points_per_unit": 2.0,
                "loyalty_points_excluded_product_ids": [Command.set(delivery.ids)],
                "loyalty_points_excluded_categ_ids": [Command.set(cards.ids)],
            }
        )
        Rule = self.env["customer.point.rule"]
        tea_rule = Rule.create(
            {
                "name": "Tea x3",
                "rule_type": "category",
                "categ_id": tea.id,
                "multiplier": 3.0,
                "company_id": self.company.id,
            }
        )
        Rule.create(
            {
                "name": "Tea x1.5",
                "rule_type": "category",
                "categ_id": tea.id,
                "multiplier": 1.5,
                "company_id": self.company.id,
            }
        )
        week = Rule.create(
            {
                "name": "Double week",
                "rule_type": "period",
                "date_from": self.today - timedelta(days=1),
                "date_to": self.today + timedelta(days=1),
                "multiplier": 2.0,
                "company_id": self.company.id,
            }
        )
        Rule.create(
            {
                "name": "Last year",
                "rule_type": "period",
                "date_from": self.today - timedelta(days=400),
                "date_to": self.today - timedelta(days=300),
                "multiplier": 5.0,
                "company_id": self.company.id,
            }
        )
        birthday = Rule.create(
            {
                "name": "Birthday",
                "rule_type": "birthday",
                "multiplier": 1.5,
                "company_id": self.company.id,
            }
        )
        self.customer.birthdate_date = self.today.replace(year=1990)
        order = (
            self.env["sale.order"]
            .with_company(self.company)
            .create(
                {
                    "partner_id": self.customer.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": p.id,
                                "price_unit": price,
                                "product_uom_qty": 1,
                                "tax_id": [Command.clear()],
                            }
                        )
                        for p, price in (
                            (self.product, 100.0),
                            (green_tea, 50.0),
                            (gift_card, 500.0),
                            (delivery, 20.0),
                        )
                    ],
                }
            )
        )
        # (100 + 50 x 3) x 2 points x 2 (week) x 1.5 (birthday) = 1500, also
        # for a quotation written earlier: confirming dates the order today
        order.date_order = fields.Datetime.now() - timedelta(days=10)
        self.assertEqual(order.loyalty_points_to_earn, 1500)
        order.action_confirm()
        earned = order.loyalty_point_entry_ids
        self.assertEqual(earned.points, 1500)
        self.assertEqual(earned.base_amount, 250.0)
        self.assertAlmostEqual(earned.multiplier, 3.0)
        self.assertEqual(earned.rule_ids, tea_rule | week | birthday)

    def test_foreign_currency_order(self):
        usd = self.env.ref("base.USD")
        usd.active = True
        self.env["res.currency.rate"].create(
            {
                "name": self.today,
                "rate": 2.0,
                "currency_id": usd.id,
                "company_id": self.company.id,
            }
        )
        self._order(self.customer, 300.0, currency=usd)
        earned = self._entries(self._membership(self.customer), kind="earn")
        # 300 USD at 2 USD per EUR = 150 EUR
        self.assertEqual(earned.points, 150)
        self.assertEqual(earned.base_amount, 150.0)

    def test_no_points_when_disabled_or_blocked(self):
        self.company.loyalty_points_enabled = False
        self._order(self.customer, 100.0)
        membership = self._membership(self.customer)
        self.assertFalse(self._entries(membership))
        self.company.loyalty_points_enabled = True
        membership.action_block()
        self._order(self.customer, 100.0)
        self.assertFalse(self._entries(membership))

    def test_available_at_once_without_return_window(self):
        self.company.loyalty_points_pending_days = 0
        self._order(self.customer, 100.0)
        membership = self._membership(self.customer)
        self.assertEqual(membership.points_balance, 100)
        self.assertEqual(membership.points_pending, 0)

    def test_release_after_delivery(self):
        self.company.loyalty_points_release = "delivery"
        self.company.loyalty_points_pending_days = 7
        order = self._order(self.customer, 200.0)
        membership = self._membership(self.customer)
        self._release(0)
        self.assertFalse(order.loyalty_point_entry_ids.available_date)
        order.order_line.qty_delivered = 1
        self._release(0)
        self.assertEqual(
            order.loyalty_point_entry_ids.available_date,
            self.today + timedelta(days=7),
        )
        self.assertEqual(membership.points_pending, 200)
        self._release(7)
        self.assertEqual(membership.points_balance, 200)

    def test_pending_points_cannot_be_spent(self):
        self._order(self.customer, 500.0)
        membership = self._membership(self.customer)
        with self.assertRaisesRegex(UserError, "0 points available"):
            self.Entry._post_redemption(membership, 10)
        self.assertFalse(self._entries(membership, kind="redeem"))


@tagged("post_install", "-at_install")
class TestReversal(PointsCase):
    def test_cancel_reverses_and_reconfirm_earns_again(self):
        order = self._order(self.customer, 300.0)
        membership = self._membership(self.customer)
        order._action_cancel()
        reversal = self._entries(membership, kind="reverse")
        self.assertEqual(reversal.points, -300)
        self.assertEqual(reversal.state, "pending")
        self.assertEqual(reversal.reversed_entry_id.sale_order_id, order)
        self.assertEqual(membership.points_pending, 0)
        # cancelling again reverses nothing more
        order._action_cancel()
        self.assertEqual(len(self._entries(membership, kind="reverse")), 1)
        order.action_draft()
        order.action_confirm()
        self.assertEqual(len(self._entries(membership, kind="earn")), 2)
        self.assertEqual(membership.points_pending, 300)
        self.assertEqual(order.loyalty_points_earned, 300)
        # the pending reversal is released together with its earned line
        self._release(14)
        self.assertEqual(membership.points_balance, 300)
        self.assertEqual(membership.points_pending, 0)
        self._assert_balances_match_ledger(membership)

    def test_confirm_twice_earns_once(self):
        order = self._order(self.customer, 300.0)
        order._action_confirm()
        order._loyalty_earn_points()
        with self.assertRaises(UserError):
            order.action_confirm()
        self.assertEqual(len(order.loyalty_point_entry_ids), 1)
        self.assertEqual(self._membership(self.customer).points_pending, 300)

    def test_cancel_after_spending_goes_negative_and_is_flagged(self):
        self.company.loyalty_points_pending_days = 0
        order = self._order(self.customer, 100.0)
        membership = self._membership(self.customer)
        self.Entry._post_redemption(membership, 80)
        self.assertEqual(membership.points_balance, 20)
        order._action_cancel()
        self.assertEqual(membership.points_balance, -80)
        self.assertTrue(membership.has_negative_balance)
        self.assertIn(
            "negative", membership.message_ids[:1].body, "the flag is explained"
        )
        reversal = self._entries(membership, kind="reverse")
        self.assertEqual(reversal.remaining_points, -80, "80 points owed")
        # nothing can be redeemed while in debt
        with self.assertRaises(UserError):
            self.Entry._post_redemption(membership, 1)
        # points earned later settle the debt first
        self._order(self.customer, 50.0)
        self.assertEqual(membership.points_balance, -30)
        self.assertEqual(reversal.remaining_points, -30)
        self._order(self.customer, 100.0)
        self.assertEqual(membership.points_balance, 70)
        self.assertFalse(membership.has_negative_balance)
        self._assert_balances_match_ledger(membership)


@tagged("post_install", "-at_install")
class TestRedemption(PointsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.membership = cls.Membership.create(
            {"partner_id": cls.customer.id, "company_id": cls.company.id}
        )
        cls.quotation = cls._order(cls.customer, 100.0, state="draft")

    def _wizard(self, order=None, **vals):
        order = order or self.quotation
        action = order.action_loyalty_redeem_points()
        return (
            self.env[action["res_model"]].with_context(**action["context"]).create(vals)
        )

    def test_redeem_adds_discount_oldest_expiry_first(self):
        late = self._give(self.membership, 300, self.today + timedelta(days=90))
        early = self._give(self.membership, 200, self.today + timedelta(days=10))
        wizard = self._wizard(points=250)
        self.assertEqual(wizard.points_available, 500)
        self.assertEqual(wizard.points_max, 500)
        self.assertAlmostEqual(wizard.amount, 2.5)
        wizard.action_redeem()
        line = self.quotation.order_line.filtered("loyalty_point_entry_id")
        self.assertAlmostEqual(line.price_unit, -2.5)
        self.assertEqual(line.loyalty_point_entry_id.points, -250)
        self.assertAlmostEqual(self.quotation.amount_untaxed, 97.5)
        self.assertEqual(early.remaining_points, 0)
        self.assertEqual(late.remaining_points, 250)
        self.assertEqual(self.membership.points_balance, 250)
        self.assertEqual(self.quotation.loyalty_points_redeemed, 250)
        # a copy of the quotation has spent no points: no discount
        copy = self.quotation.copy()
        self.assertEqual(len(copy.order_line), 1)
        self.assertAlmostEqual(copy.amount_untaxed, 100.0)
        # updating prices leaves the discount as it is
        self.quotation.action_update_prices()
        self.assertAlmostEqual(line.price_unit, -2.5)
        # the discount cannot be edited, only removed
        with self.assertRaises(UserError):
            line.price_unit = -10.0
        line.unlink()
        self.assertEqual(self.membership.points_balance, 500)
        self.assertEqual(early.remaining_points, 200, "given back where taken")
        self.assertEqual(late.remaining_points, 300)
        self._assert_balances_match_ledger(self.membership)

    def test_cancelled_quotation_gives_points_back(self):
        self._give(self.membership, 100)
        self._wizard(points=100).action_redeem()
        self.assertEqual(self.membership.points_balance, 0)
        self.quotation._action_cancel()
        self.assertEqual(self.membership.points_balance, 100)
        self.assertFalse(self.quotation.order_line.filtered("loyalty_point_entry_id"))
        self._assert_balances_match_ledger(self.membership)

    def test_redeem_capped_by_share_of_order(self):
        self._give(self.membership, 20000)
        wizard = self._wizard(points=5001)
        # 50 % of 100 EUR at 0.01 EUR a point
        self.assertEqual(wizard.points_max, 5000)
        with self.assertRaisesRegex(UserError, "At most 5000 points"):
            wizard.action_redeem()
        self.assertFalse(self._entries(self.membership, kind="redeem"))
        self._wizard(points=3000).action_redeem()
        self.assertEqual(self._wizard(points=1).points_max, 2000)

    def test_bad_inputs_refused(self):
        self._give(self.membership, 100)
        for points in (0, -5):
            with self.assertRaisesRegex(UserError, "above 0"):
                self._wizard(points=points).action_redeem()
        with self.assertRaisesRegex(UserError, "not enough"):
            self._wizard(points=101).action_redeem()
        for bad in ("abc", "1.5", "ten"):
            with self.assertRaisesRegex(UserError, "whole number"):
                self._wizard(points=bad)
        self.assertFalse(self._entries(self.membership, kind="redeem"))
        self.assertFalse(self.quotation.order_line.filtered("loyalty_point_entry_id"))
        self.assertEqual(self.membership.points_balance, 100)
        # only on quotations
        self.quotation.action_confirm()
        with self.assertRaisesRegex(UserError, "quotation"):
            self._wizard(points=10).action_redeem()

    def test_redeem_through_form(self):
        self._give(self.membership, 100)
        action = self.quotation.action_loyalty_redeem_points()
        form = Form(self.env[action["res_model"]].with_context(**action["context"]))
        # the dialog opens at the most the member may use on this order
        self.assertEqual(form.points_max, 100)
        self.assertEqual(form.points, 100)
        self.assertAlmostEqual(form.amount, 1.0)
        form.points = 40
        self.assertAlmostEqual(form.amount, 0.4)
        form.save().action_redeem()
        self.assertEqual(self.membership.points_balance, 60)


@tagged("post_install", "-at_install")
class TestExpiry(PointsCase):
    def _expire(self, day):
        with freeze_time(fields.Date.to_string(day)):
            run_until_done(self.Entry._cron_expire_points)

    def test_expiry_on_the_boundary_day(self):
        membership = self.Membership.create(
            {"partner_id": self.customer.id, "company_id": self.company.id}
        )
        last_day = self.today + timedelta(days=5)
        first = self._give(membership, 100, last_day)
        second = self._give(membership, 50, last_day + timedelta(days=30))
        self.Entry._post_redemption(membership, 30)
        self.assertEqual(first.remaining_points, 70, "oldest expiry spent first")
        with freeze_time(fields.Date.to_string(last_day)):
            membership.invalidate_recordset()
            self.assertEqual(membership.points_expiring_soon, 120)
            self.assertEqual(membership.points_expiring_date, last_day)
            self.assertIn(
                membership, self.Membership.search([("points_expiring_soon", ">", 0)])
            )
        # still valid on its last day
        self._expire(last_day)
        self.assertFalse(self._entries(membership, kind="expire"))
        self.assertEqual(membership.points_balance, 120)
        # expired the day after
        self._expire(last_day + timedelta(days=1))
        expired = self._entries(membership, kind="expire")
        self.assertEqual(expired.points, -70)
        self.assertEqual(first.remaining_points, 0)
        self.assertEqual(second.remaining_points, 50)
        self.assertEqual(membership.points_balance, 50)
        # running again expires nothing more
        self._expire(last_day + timedelta(days=2))
        self.assertEqual(len(self._entries(membership, kind="expire")), 1)
        self._assert_balances_match_ledger(membership)

    def test_expiry_policies(self):
        company = self.company
        earned = fields.Date.to_date("2026-03-15")
        company.loyalty_points_expiry_policy = "never"
        self.assertIsNone(company._loyalty_points_expiry_date(earned))
        company.loyalty_points_expiry_policy = "months"
        company.loyalty_points_expiry_months = 6
        self.assertEqual(
            company._loyalty_points_expiry_date(earned),
            fields.Date.to_date("2026-09-15"),
        )
        company.loyalty_points_expiry_policy = "year_end"
        company.loyalty_points_expiry_years = 1
        self.assertEqual(
            company._loyalty_points_expiry_date(earned),
            fields.Date.to_date("2026-12-31"),
        )
        company.loyalty_points_expiry_years = 2
        self.assertEqual(
            company._loyalty_points_expiry_date(earned),
            fields.Date.to_date("2027-12-31"),
        )

    def test_release_cron_in_batches_resumes(self):
        for i in range(5):
            self._order(self._partner(f"Buyer {i}"), 10.0)
        self.env["ir.config_parameter"].sudo().set_param(
            "repeat_customer.ledger_batch_size", "2"
        )
        with freeze_time(fields.Date.to_string(self.today + timedelta(days=14))):
            self.assertEqual(self.Entry._cron_release_points(), 2)
            # a crash here loses nothing: the next call takes the next batch
            self.assertEqual(self.Entry._cron_release_points(), 2)
            self.assertEqual(self.Entry._cron_release_points(), 1)
            self.assertEqual(self.Entry._cron_release_points(), 0)
        pending = self.Entry.search(
            [("company_id", "=", self.company.id), ("state", "=", "pending")]
        )
        self.assertFalse(pending)

    def test_expiry_cron_in_batches(self):
        day = self.today + timedelta(days=1)
        members = self.Membership.create(
            [
                {
                    "partner_id": self._partner(f"Member {i}").id,
                    "company_id": self.company.id,
                }
                for i in range(5)
            ]
        )
        for member in members:
            self._give(member, 10, self.today)
        self.env["ir.config_parameter"].sudo().set_param(
            "repeat_customer.ledger_batch_size", "2"
        )
        with freeze_time(fields.Date.to_string(day)):
            self.assertEqual(self.Entry._cron_expire_points(), 2)
            self.assertEqual(self.Entry._cron_expire_points(), 2)
            self.assertEqual(self.Entry._cron_expire_points(), 1)
            self.assertEqual(self.Entry._cron_expire_points(), 0)
        self.assertEqual(members.mapped("points_balance"), [0] * 5)


@tagged("post_install", "-at_install")
class TestLedgerRules(PointsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.membership = cls.Membership.create(
            {"partner_id": cls.customer.id, "company_id": cls.company.id}
        )
        cls.manager = new_test_user(
            cls.env,
            login="rc_pts_manager",
            groups="repeat_customer.group_manager,sales_team.group_sale_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.salesman = new_test_user(
            cls.env,
            login="rc_pts_sales",
            groups="sales_team.group_sale_salesman_all_leads",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.accountant = new_test_user(
            cls.env,
            login="rc_pts_accountant",
            groups="account.group_account_invoice",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.customer.user_id = cls.salesman

    def _adjust(self, user, **vals):
        action = self.membership.with_user(user).action_adjust_points()
        wizard = (
            self.env[action["res_model"]]
            .with_user(user)
            .with_context(**action["context"])
            .create(vals)
        )
        return wizard.action_apply()

    def test_manager_adjusts_with_reason(self):
        entry = self._adjust(
            self.manager, points=150, reason="Goodwill after a late delivery"
        )
        self.assertEqual(entry.kind, "adjust")
        self.assertEqual(entry.user_id, self.manager)
        self.assertEqual(self.membership.points_balance, 150)
        self.assertIn(
            "Goodwill after a late delivery", self.membership.message_ids[0].body
        )
        self._adjust(self.manager, points=-50, reason="Correction")
        self.assertEqual(self.membership.points_balance, 100)
        with self.assertRaisesRegex(UserError, "cannot take 101"):
            self._adjust(self.manager, points=-101, reason="Too much")
        self.assertEqual(self.membership.points_balance, 100)

    def test_adjustment_bad_inputs(self):
        with self.assertRaisesRegex(UserError, "reason"):
            self._adjust(self.manager, points=10, reason="   ")
        with self.assertRaisesRegex(UserError, "not 0"):
            self._adjust(self.manager, points=0, reason="Nothing")
        with self.assertRaisesRegex(UserError, "whole number"):
            self._adjust(self.manager, points="12abc", reason="Typo")
        self.assertFalse(self._entries(self.membership))

    def test_salesperson_cannot_adjust(self):
        with self.assertRaises(AccessError):
            self._adjust(self.salesman, points=10, reason="For a friend")
        with self.assertRaisesRegex(UserError, "Adjust Points"):
            self.Entry.with_user(self.salesman).create(
                {
                    "membership_id": self.membership.id,
                    "kind": "adjust",
                    "points": 10,
                    "reason": "x",
                }
            )
        self.assertFalse(self._entries(self.membership))
        # but sees the ledger of their customer
        self._give(self.membership, 10)
        self.assertEqual(
            len(
                self.Entry.with_user(self.salesman).search(
                    [("membership_id", "=", self.membership.id)]
                )
            ),
            1,
        )

    def test_accountant_reads_but_cannot_change(self):
        entry = self._give(self.membership, 10)
        as_accountant = entry.with_user(self.accountant)
        self.assertEqual(as_accountant.read(["points"])[0]["points"], 10)
        with self.assertRaisesRegex(UserError, "cannot be changed"):
            as_accountant.write({"points": 1000})
        with self.assertRaises(AccessError):
            as_accountant.unlink()
        with self.assertRaisesRegex(UserError, "Adjust Points"):
            self.Entry.with_user(self.accountant).create(
                {
                    "membership_id": self.membership.id,
                    "kind": "adjust",
                    "points": 10,
                    "reason": "x",
                }
            )
        self.assertEqual(entry.points, 10)

    def test_posted_lines_are_immutable_even_for_admin(self):
        entry = self._give(self.membership, 10)
        admin = self.env.ref("base.user_admin")
        for env in (self.env(user=admin), self.env(su=True)):
            with self.assertRaisesRegex(UserError, "cannot be changed"):
                entry.with_env(env).write({"points": 1000})
            with self.assertRaisesRegex(UserError, "cannot be changed"):
                entry.with_env(env).write({"state": "pending"})
            # refused by the access rights, and even as superuser
            with self.assertRaisesRegex(UserError, "cannot be deleted|not allowed"):
                entry.with_env(env).unlink()
        with self.assertRaisesRegex(UserError, "Adjust Points"):
            self.Entry.with_user(admin).create(
                {"membership_id": self.membership.id, "kind": "earn", "points": 99}
            )
        with self.assertRaisesRegex(UserError, "cannot be deleted"):
            self.membership.unlink()
        self.assertEqual(entry.points, 10)
        self.assertEqual(self.membership.points_balance, 10)

    def test_multi_company_balances_are_separate(self):
        other = self.env["res.company"].create({"name": "Second Shop"})
        self.env.user.company_ids |= other
        other_membership = self.Membership.create(
            {"partner_id": self.customer.id, "company_id": other.id}
        )
        self._give(self.membership, 70)
        self._give(other_membership, 5)
        self.assertEqual(self.membership.points_balance, 70)
        self.assertEqual(other_membership.points_balance, 5)
        entries = self.Entry.with_user(self.manager).search([])
        self.assertTrue(entries)
        self.assertNotIn(other, entries.company_id, "rules keep companies apart")
        with self.assertRaisesRegex(UserError, "5 points available"):
            self.Entry._post_redemption(other_membership, 6)


@tagged("post_install", "-at_install")
class TestPointsSettings(PointsCase):
    def test_bad_settings_refused(self):
        for vals in (
            {"loyalty_points_per_unit": -1},
            {"loyalty_points_pending_days": -3},
            {"loyalty_points_expiry_months": 0},
            {"loyalty_point_value": -0.5},
            {"loyalty_points_max_redeem_percent": 150},
            {"loyalty_tier_window_days": 0},
        ):
            with self.assertRaises(ValidationError), self.cr.savepoint():
                self.company.write(vals)
        self.assertEqual(self.company.loyalty_points_pending_days, 14)

    def test_bad_bonus_rules_refused(self):
        Rule = self.env["customer.point.rule"]
        base = {"name": "Bad", "company_id": self.company.id}
        for vals, message in (
            ({"rule_type": "birthday", "multiplier": 0}, "above 0"),
            ({"rule_type": "birthday", "multiplier": -2}, "above 0"),
            ({"rule_type": "category", "multiplier": 2}, "category"),
            ({"rule_type": "period", "multiplier": 2}, "start and an end"),
            (
                {
                    "rule_type": "period",
                    "multiplier": 2,
                    "date_from": self.today,
                    "date_to": self.today - timedelta(days=1),
                },
                "ends before it starts",
            ),
        ):
            with self.assertRaisesRegex(ValidationError, message), self.cr.savepoint():
                Rule.create({**base, **vals})
        self.assertFalse(Rule.search([("name", "=", "Bad")]))

    def test_settings_form(self):
        form = Form(self.env["res.config.settings"])
        form.loyalty_points_per_unit = 2.0
        form.loyalty_points_expiry_policy = "year_end"
        form.save().execute()
        self.assertEqual(self.company.loyalty_points_per_unit, 2.0)
        self.assertEqual(self.company.loyalty_points_expiry_policy, "year_end")


@tagged("post_install", "-at_install")
class TestInvoicedOrders(PointsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=cls.company, install_demo=False
        )

    def test_release_when_paid(self):
        self.company.loyalty_points_release = "payment"
        order = self._order(self.customer, 200.0)
        membership = self._membership(self.customer)
        earned = order.loyalty_point_entry_ids
        self.assertFalse(earned.available_date)
        self._release(30)
        self.assertEqual(membership.points_pending, 200)
        invoice = order._create_invoices()
        invoice.action_post()
        self._release(30)
        self.assertEqual(membership.points_pending, 200, "posted but not paid")
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({})._create_payments()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self._release(0)
        self.assertEqual(membership.points_balance, 200)
        self.assertEqual(membership.points_pending, 0)

    def _invoice_and_refund(self, order, refund_qty):
        invoice = order._create_invoices()
        invoice.action_post()
        refund = invoice._reverse_moves()
        refund.invoice_line_ids.quantity = refund_qty
        refund.action_post()
        return refund

    def test_credit_note_reverses_in_proportion(self):
        order = (
            self.env["sale.order"]
            .with_company(self.company)
            .create(
                {
                    "partner_id": self.customer.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": self.product.id,
                                "price_unit": 100.0,
                                "product_uom_qty": 10,
                                "tax_id": [Command.clear()],
                            }
                        )
                    ],
                }
            )
        )
        order.action_confirm()
        membership = self._membership(self.customer)
        self.assertEqual(membership.points_pending, 1000)
        refund = self._invoice_and_refund(order, 4)
        reversal = self._entries(membership, kind="reverse")
        self.assertEqual(reversal.points, -400)
        self.assertEqual(reversal.credit_note_id, refund)
        self.assertEqual(membership.points_pending, 600)
        # posting the same credit note again reverses nothing more
        refund.button_draft()
        refund.action_post()
        self.assertEqual(len(self._entries(membership, kind="reverse")), 1)
        # a second credit note for the rest takes the rest, never more
        invoice = order.invoice_ids.filtered(lambda m: m.move_type == "out_invoice")
        refund2 = invoice._reverse_moves()
        refund2.action_post()
        self.assertEqual(membership.points_pending, 0)
        self.assertEqual(
            sum(self._entries(membership, kind="reverse").mapped("points")), -1000
        )
