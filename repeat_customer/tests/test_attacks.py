"""The attacks of issue 9, performed as the attacker would: as a salesperson
(or manager) through the ORM with their own rights, the way Odoo's JSON-RPC
``call_kw`` runs them. Each test failed before the server refused it."""

import math

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import RewardsCase

BAD_NUMBERS = ("nan", "inf", "-inf", 2**31, float("nan"), float("inf"))


@tagged("post_install", "-at_install")
class TestAttacks(RewardsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.li_na = cls._user("rc_li_na", "sales_team.group_sale_salesman")
        cls.chen_wei = cls._user("rc_chen_wei", "sales_team.group_sale_salesman")
        cls.manager = cls._user(
            "rc_attack_manager",
            "repeat_customer.group_manager,sales_team.group_sale_manager",
        )
        # a loyalty manager who is no accountant
        cls.loyalty_manager = cls._user(
            "rc_loyalty_manager", "repeat_customer.group_manager"
        )
        cls.customer.user_id = cls.li_na
        cls.victim = cls._partner("Zhao Lei", user_id=cls.chen_wei.id)
        cls.vip = cls.env["customer.tier"].create(
            {"name": "VIP", "company_id": cls.company.id, "threshold": 100000.0}
        )
        cls.discount_reward = cls.Reward.create(
            {
                "name": "20 EUR off for 300 points",
                "company_id": cls.company.id,
                "points_cost": 300,
                "reward_type": "discount",
                "discount_amount": 20.0,
            }
        )

    @classmethod
    def _user(cls, login, groups):
        return new_test_user(
            cls.env,
            login=login,
            groups=groups,
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )

    def _as(self, user, records):
        return records.with_user(user).with_company(self.company)

    def _victim_earned(self, amount=741.0):
        """The victim's confirmed order with its earned points, made
        available."""
        self._order(self.victim, amount)
        membership = self._membership(self.victim)
        self._release(15)
        return membership, self._entries(membership, kind="earn")

    # 1 -------------------------------------------------------------------
    def test_01_order_line_link_to_the_ledger_is_closed(self):
        """Attaching a ledger line to one's own quotation line, or clearing
        the link of a points discount line, is refused."""
        victim, earned = self._victim_earned()
        before = victim.points_balance
        membership = self._member(self.customer, 10000)
        quotation = self._quotation(self.customer, 1000.0)
        line = self._as(self.li_na, quotation.order_line)
        with self.assertRaises(AccessError):
            line.write({"loyalty_point_entry_id": earned.id})
        with self.assertRaises(AccessError):
            self._as(self.li_na, self.env["sale.order.line"]).create(
                {
                    "order_id": quotation.id,
                    "product_id": self.product.id,
                    "loyalty_point_entry_id": earned.id,
                }
            )
        # a reward coupon's redemption line cannot be attached either
        coupon = self.reward._redeem(membership)
        with self.assertRaises(AccessError):
            line.write({"loyalty_point_entry_id": coupon.point_entry_id.id})
        line.unlink()
        self.assertFalse(self.Entry.search([("reversed_entry_id", "=", earned.id)]))
        self.assertFalse(
            self.Entry.search([("reversed_entry_id", "=", coupon.point_entry_id.id)])
        )
        victim.invalidate_recordset()
        self.assertEqual(victim.points_balance, before)
        # a points discount cannot be unlinked from the ledger, then repriced
        quotation = self._quotation(self.customer, 1000.0)
        quotation.with_user(self.li_na)._loyalty_redeem_points(100)
        points_line = self._as(
            self.li_na, quotation.order_line.filtered("loyalty_point_entry_id")
        )
        with self.assertRaises(AccessError):
            points_line.write({"loyalty_point_entry_id": False})
        with self.assertRaises(UserError):
            points_line.with_context(sale_write_from_compute=True).write(
                {"price_unit": -1000.0}
            )
        self.assertEqual(points_line.price_unit, -1.0)
        # even a link set by code to another order's or a coupon's line
        # gives nothing back when the line goes
        other = self._quotation(self.customer, 50.0)
        other.order_line.sudo().loyalty_point_entry_id = coupon.point_entry_id
        balance = membership.points_balance
        other.order_line.unlink()
        membership.invalidate_recordset()
        self.assertEqual(membership.points_balance, balance)

    # 2 -------------------------------------------------------------------
    def test_02_membership_figures_are_not_writable(self):
        membership = self._member(self.customer, 500)
        segment = self.env.ref("repeat_customer.segment_champions")
        as_li_na = self._as(self.li_na, membership)
        for vals in (
            {"points_balance": 999999},
            {"points_pending": 5},
            {"tier_id": self.vip.id},
            {"segment_id": segment.id},
            {"total_spent": 1e6},
            {"order_count": 99},
            {"churn_risk": "low"},
            {"churn_probability": 0.0},
            {"has_negative_balance": True},
            {"rfm_recency_score": 5},
            {"state": "blocked"},
            {"name": "M9999999"},
            {"user_id": self.chen_wei.id},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                as_li_na.write(vals)
        membership.invalidate_recordset()
        self.assertEqual(membership.points_balance, 500)
        self.assertFalse(membership.tier_id)
        self.assertEqual(membership.state, "active")
        self.assertEqual(self.customer.user_id, self.li_na)
        with self.assertRaises(AccessError):
            as_li_na.action_block()
        with self.assertRaises(AccessError):
            self._as(self.li_na, self.Membership).create(
                {"partner_id": self._partner("New", user_id=self.li_na.id).id}
                | {"points_balance": 1000}
            )
        # what a salesperson may change, and a manager's buttons
        as_li_na.write({"marketing_opt_out": True})
        self.assertTrue(membership.marketing_opt_out)
        self._as(self.manager, membership).action_block()
        self.assertEqual(membership.state, "blocked")
        with self.assertRaises(AccessError):
            self._as(self.manager, membership).write({"points_balance": 1})

    # 3 -------------------------------------------------------------------
    def test_03_other_customers_figures_are_not_readable(self):
        victim = self._member(self.victim, 7410)
        own = self._member(self.customer, 25)
        partner = self._as(self.li_na, self.victim)
        self.assertFalse(partner.loyalty_membership_id)
        self.assertEqual(partner.loyalty_points_balance, 0)
        self.assertFalse(partner.loyalty_segment_id)
        self.assertFalse(partner.loyalty_rfm_score)
        # their own customer's figures, in the same transaction
        self.assertEqual(self._as(self.li_na, self.customer).loyalty_points_balance, 25)
        self.assertEqual(
            self._as(self.chen_wei, self.victim).loyalty_points_balance, 7410
        )
        # the wizards do not read another customer's membership or order
        coupon = self.reward._redeem(victim)
        Wizard = self._as(self.li_na, self.env["customer.reward.redeem.wizard"])
        with self.assertRaises(AccessError):
            Wizard.create({"membership_id": victim.id})
        with self.assertRaises(AccessError):
            Wizard.create({"membership_id": own.id, "coupon_id": coupon.id})
        wizard = Wizard.create({"membership_id": own.id})
        with self.assertRaises(AccessError):
            wizard.write({"membership_id": victim.id})
        victim_order = self._quotation(self.victim)
        PointsWizard = self._as(self.li_na, self.env["customer.point.redeem.wizard"])
        with self.assertRaises(AccessError):
            PointsWizard.create({"order_id": victim_order.id, "points": 1})

    # 4 -------------------------------------------------------------------
    def test_04_points_discounts_stay_within_the_cap(self):
        membership = self._member(self.customer, 100000)
        quotation = self._as(self.li_na, self._quotation(self.customer, 1000.0))
        # 50 % of 1 000 at 0.01 a point: 50 000 points, then nothing more
        quotation._loyalty_redeem_points(50000)
        with self.assertRaisesRegex(UserError, "at most 50.0 %"), self.cr.savepoint():
            self.discount_reward.with_user(self.li_na)._redeem(
                membership, order=quotation
            )
        product_line = quotation.order_line.filtered(
            lambda line: not line.loyalty_point_entry_id
        )
        with self.assertRaisesRegex(UserError, "at most 50.0 %"), self.cr.savepoint():
            product_line.write({"product_uom_qty": 0})
        with self.assertRaisesRegex(UserError, "at most 50.0 %"), self.cr.savepoint():
            product_line.write({"price_unit": 10.0})
        with self.assertRaisesRegex(UserError, "at most 50.0 %"), self.cr.savepoint():
            product_line.unlink()
        self.assertEqual(quotation.amount_total, 500.0)
        self.assertEqual(self._membership(self.customer).points_balance, 50000)
        # the cap is checked again at confirmation
        self.company.loyalty_points_max_redeem_percent = 10.0
        with self.assertRaisesRegex(UserError, "at most 10.0 %"), self.cr.savepoint():
            quotation.action_confirm()
        self.assertEqual(quotation.state, "draft")
        # and the total never goes below zero, whatever the cap
        self.company.loyalty_points_max_redeem_percent = 100.0
        quotation._loyalty_redeem_points(50000)
        self.assertEqual(quotation.amount_total, 0.0)
        with (
            self.assertRaisesRegex(UserError, "at most 100.0 %|below zero"),
            self.cr.savepoint(),
        ):
            product_line.write({"price_unit": 900.0})
        quotation.action_confirm()
        self.assertEqual(quotation.state, "sale")
        self.assertEqual(quotation.amount_total, 0.0)

    # 5 -------------------------------------------------------------------
    def test_05_one_customers_points_never_pay_another_customers_order(self):
        friend = self._partner("Friend of Lin", user_id=self.li_na.id)
        payer = self._member(friend, 5000)
        self._member(self.customer, 0)
        quotation = self._quotation(self.customer, 1000.0)
        Wizard = self._as(self.li_na, self.env["customer.reward.redeem.wizard"])
        for reward in (self.discount_reward, self.reward):
            wizard = Wizard.with_context(default_order_id=quotation.id).create(
                {"reward_id": reward.id}
            )
            wizard.membership_id = payer
            with self.subTest(reward=reward.name):
                with (
                    self.assertRaisesRegex(UserError, "cannot pay for"),
                    self.cr.savepoint(),
                ):
                    wizard.action_redeem()
        payer.invalidate_recordset()
        self.assertEqual(payer.points_balance, 5000)
        self.assertFalse(self._entries(payer, kind="redeem"))
        self.assertFalse(quotation.order_line.filtered("loyalty_point_entry_id"))

    # 6: the portal's double submit is in test_portal.py (HttpCase)

    # 7 -------------------------------------------------------------------
    def test_07_settings_are_bounded(self):
        for vals, bound in (
            ({"loyalty_points_per_unit": 1e9}, "from 0 to 1000"),
            ({"loyalty_points_per_unit": math.nan}, "a number is expected"),
            ({"loyalty_points_pending_days": 10**7}, "from 0 to 3650"),
            ({"loyalty_points_expiry_months": 100000}, "from 1 to 1200"),
            ({"loyalty_points_expiry_years": 10**6}, "from 1 to 100"),
            ({"loyalty_rfm_window_days": 10**7}, "from 1 to 3650"),
            ({"loyalty_tier_window_days": 10**7}, "from 1 to 3650"),
            ({"loyalty_point_value": math.inf}, "a number is expected"),
            ({"loyalty_point_value": 1e7}, "from 0 to 1000000"),
            ({"loyalty_rfm_recency_thresholds": "30,90,180,nan"}, "four numbers"),
            ({"loyalty_rfm_monetary_thresholds": "1,2,3,inf"}, "four numbers"),
            ({"loyalty_rfm_frequency_thresholds": "1,2,3,1e300"}, "at most"),
        ):
            with (
                self.subTest(vals=vals),
                self.assertRaisesRegex(ValidationError, bound),
                self.cr.savepoint(),
            ):
                self.company.write(vals)
        for vals in (
            {"threshold": math.nan},
            {"threshold": math.inf},
            {"points_multiplier": math.inf},
            {"points_multiplier": 1e9},
            {"minimum_stay_days": 10**7},
        ):
            with (
                self.subTest(vals=vals),
                self.assertRaisesRegex(ValidationError, "at most|a number is expected"),
                self.cr.savepoint(),
            ):
                self.vip.write(vals)
        # every order still confirms with a clear programme
        order = self._order(self.customer, 100.0)
        self.assertEqual(order.loyalty_points_earned, 100)

    # 8 -------------------------------------------------------------------
    def test_08_both_churn_thresholds_raised_in_one_save(self):
        self.company.write(
            {
                "loyalty_churn_medium_threshold": 0.5,
                "loyalty_churn_high_threshold": 0.8,
            }
        )
        settings = Form(self.env["res.config.settings"])
        settings.loyalty_churn_medium_threshold = 0.85
        settings.loyalty_churn_high_threshold = 0.95
        settings.save().execute()
        self.assertEqual(self.company.loyalty_churn_medium_threshold, 0.85)
        self.assertEqual(self.company.loyalty_churn_high_threshold, 0.95)
        # a wrong pair is refused with the values the user typed
        settings = Form(self.env["res.config.settings"])
        settings.loyalty_churn_medium_threshold = 0.9
        settings.loyalty_churn_high_threshold = 0.6
        with self.assertRaisesRegex(ValidationError, "0.9 and 0.6"):
            settings.save()

    # 9 -------------------------------------------------------------------
    def test_09_coupon_batch_filter_and_limit(self):
        Batch = self._as(self.loyalty_manager, self.env["customer.coupon.batch"])
        base = {
            "company_id": self.company.id,
            "program_id": self.program.id,
            "target": "filter",
        }
        for text in ("{'a': 1}", "42", "[1, 2]", "__import__('os')", "[('x',)]"):
            with (
                self.subTest(filter=text),
                self.assertRaisesRegex(ValidationError, "not a valid filter"),
                self.cr.savepoint(),
            ):
                Batch.create({**base, "filter_domain": text})
        # a field the manager may not read (credit limits are for accountants)
        with self.assertRaises(AccessError), self.cr.savepoint():
            Batch.create(
                {**base, "filter_domain": "[('partner_id.credit_limit', '>', 0)]"}
            )
        form = Form(Batch)
        form.program_id = self.program
        form.target = "filter"
        form.filter_domain = "[('partner_id.credit_limit', '>', 0)]"
        self.assertEqual(form.target_count, 0)
        with (
            self.assertRaisesRegex(ValidationError, "at most 100 coupons"),
            self.cr.savepoint(),
        ):
            Batch.create({**base, "filter_domain": "[]", "per_customer_limit": 10**6})
        with (
            self.assertRaisesRegex(ValidationError, "at most 3650 days"),
            self.cr.savepoint(),
        ):
            Batch.create({**base, "filter_domain": "[]", "validity_days": 10**7})
        self.assertFalse(self.env["customer.coupon.batch"].search([]))

    # 10 ------------------------------------------------------------------
    def test_10_salesperson_enrols_only_own_customers(self):
        nobodys = self._partner("No Salesperson")
        for partner in (self.victim, nobodys):
            with self.subTest(partner=partner.name):
                with (
                    self.assertRaisesRegex(AccessError, "not one of your customers"),
                    self.cr.savepoint(),
                ):
                    self._as(self.li_na, partner).action_loyalty_enrol()
                self.assertFalse(self._membership(partner))
        own = self._partner("Own Customer", user_id=self.li_na.id)
        action = self._as(self.li_na, own).action_loyalty_enrol()
        membership = self._membership(own)
        self.assertEqual(action["res_id"], membership.id)
        self.assertTrue(self._as(self.li_na, membership).name)

    # 11 ------------------------------------------------------------------
    def test_11_coupons_of_the_programme_are_guarded(self):
        victim = self._member(self.victim, 500)
        coupon = self.reward._redeem(victim)
        card = coupon.card_id
        Card = self._as(self.li_na, self.env["loyalty.card"])
        self.assertFalse(Card.search([("id", "=", card.id)]))
        self.assertNotIn(card.code, Card.search([]).mapped("code"))
        with self.assertRaises(AccessError):
            Card.browse(card.id).read(["code"])
        # their own customer's coupon: readable, but its balance is not theirs
        own = self._as(self.chen_wei, card)
        self.assertEqual(own.code, coupon.code)
        for vals in ({"points": 5}, {"expiration_date": False}, {"code": "RCFREE"}):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                own.write(vals)
        self.assertEqual(card.points, 1)
        # the coupon flow itself still works for that salesperson
        quotation = self._as(self.chen_wei, self._quotation(self.victim, 100.0))
        self._apply_code(quotation, coupon.code)
        quotation.action_confirm()
        self.assertEqual(card.points, 0)
        self.assertEqual(coupon.state, "used")
        # a used coupon cannot be re-armed
        with self.assertRaises(AccessError):
            own.write({"points": 1})
        quotation._action_cancel()
        self.assertEqual(card.points, 1)
        # native coupons of other programmes keep Odoo's own rules
        native = self.env["loyalty.card"].create(
            {"program_id": self.program.id, "points": 1}
        )
        self.assertEqual(Card.search([("id", "=", native.id)]), native)

    # 12 ------------------------------------------------------------------
    def test_12_wizard_numbers_are_checked(self):
        membership = self._member(self.customer, 500)
        quotation = self._quotation(self.customer, 1000.0)
        Adjust = self._as(self.manager, self.env["customer.point.adjust.wizard"])
        Redeem = self._as(self.li_na, self.env["customer.point.redeem.wizard"])
        for value in BAD_NUMBERS:
            with self.subTest(value=value):
                with self.assertRaises(UserError):
                    Adjust.create(
                        {"membership_id": membership.id, "points": value, "reason": "x"}
                    )
                with self.assertRaises(UserError):
                    Redeem.create({"order_id": quotation.id, "points": value})
                with self.assertRaises(UserError):
                    Redeem.create({"order_id": quotation.id, "points": 1}).write(
                        {"points": value}
                    )
        membership.invalidate_recordset()
        self.assertEqual(membership.points_balance, 500)
        self.assertFalse(quotation.order_line.filtered("loyalty_point_entry_id"))


@tagged("post_install", "-at_install")
class TestPolish(RewardsCase):
    def test_one_point_discount_line(self):
        self._member(self.customer, 5000)
        quotation = self._quotation(self.customer, 1000.0)
        line = quotation._loyalty_redeem_points(1)
        self.assertEqual(line.name, "Loyalty points: 1 point")
        line = quotation._loyalty_redeem_points(1300)
        self.assertEqual(line.name, "Loyalty points: 1,300 points")

    def test_code_typed_in_lower_case(self):
        membership = self._member(self.customer, 500)
        coupon = self.reward._redeem(membership)
        quotation = self._quotation(self.customer, 100.0)
        self._apply_code(quotation, f" {coupon.code.lower()} ")
        self.assertIn(coupon.card_id, quotation.order_line.coupon_id)

    def test_member_form_creates_nothing(self):
        """Members are enrolled, never created on their form."""
        view = self.env.ref("repeat_customer.customer_membership_view_form")
        form = self.Membership.get_view(view.id, "form")["arch"]
        self.assertRegex(form, r'<form [^>]*create="(false|0)"')
