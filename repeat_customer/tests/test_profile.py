"""Purchase profiles, preferences and recommendations, against figures
computed by hand."""

import importlib.util
import re
from datetime import datetime, timedelta
from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, HttpCase, new_test_user, tagged
from odoo.tools import SQL, file_path, mute_logger

from ..hooks import RECOMMENDATION_BLOCK, add_recommendation_block
from ..models import customer_recommendation
from .common import RepeatCustomerCase, coupon_program_vals


class ProfileCase(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.loyalty_points_enabled = False
        Category = cls.env["product.category"]
        cls.tea = Category.create({"name": "Profile Tea"})
        cls.ware = Category.create({"name": "Profile Teaware"})
        cls.snack = Category.create({"name": "Profile Snacks"})

        def product(name, category, price):
            return cls.env["product.product"].create(
                {
                    "name": name,
                    "categ_id": category.id,
                    "list_price": price,
                    "taxes_id": [Command.clear()],
                }
            )

        cls.longjing = product("Profile Longjing", cls.tea, 100.0)
        cls.oolong = product("Profile Oolong", cls.tea, 80.0)
        cls.cup = product("Profile Cup", cls.ware, 30.0)
        cls.pot = product("Profile Teapot", cls.ware, 200.0)
        cls.cookie = product("Profile Cookie", cls.snack, 10.0)

    @classmethod
    def _sell(cls, partner, lines, when, company=None, confirm=True):
        """An order of ``lines`` ((product, quantity, unit price)) dated
        ``when`` (UTC)."""
        company = company or cls.company
        order = (
            cls.env["sale.order"]
            .with_company(company)
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "product_uom_qty": qty,
                                "price_unit": price,
                                "tax_id": [Command.clear()],
                            }
                        )
                        for product, qty, price in lines
                    ],
                }
            )
        )
        if confirm:
            order.action_confirm()
        order.date_order = when
        return order


@tagged("post_install", "-at_install")
class TestProfile(ProfileCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=cls.company, install_demo=False
        )
        cls.ann = cls._partner("Profile Ann")
        cls.ann_child = cls._partner("Ann's Office", parent_id=cls.ann.id)
        today = cls.today
        # Wednesdays in the morning (UTC is the company's zone)
        cls.first = cls._sell(
            cls.ann,
            [(cls.longjing, 2, 100.0), (cls.cup, 4, 30.0)],
            datetime(today.year, today.month, today.day, 9) - _weeks(10),
        )
        cls.second = cls._sell(
            cls.ann_child,
            [(cls.oolong, 1, 80.0), (cls.cookie, 10, 10.0)],
            datetime(today.year, today.month, today.day, 10) - _weeks(5),
        )
        # a cancelled order counts for nothing
        cancelled = cls._sell(
            cls.ann,
            [(cls.pot, 5, 200.0)],
            datetime(today.year, today.month, today.day, 20) - _weeks(3),
        )
        cancelled._action_cancel()
        # two of the four cups are refunded
        invoice = cls.first._create_invoices()
        invoice.action_post()
        refund = invoice._reverse_moves()
        refund.invoice_line_ids.filtered(
            lambda line: line.product_id == cls.cup
        ).quantity = 2
        refund.invoice_line_ids.filtered(
            lambda line: line.product_id == cls.longjing
        ).unlink()
        refund.action_post()
        # another company's order is that company's
        cls.company2 = cls.env["res.company"].create({"name": "Profile Second Co"})
        cls.env.user.company_ids |= cls.company2
        cls._sell(
            cls.ann,
            [(cls.pot, 1, 200.0)],
            datetime(today.year, today.month, today.day, 15) - _weeks(1),
            company=cls.company2,
        )
        cls.env.flush_all()
        for company in cls.company | cls.company2:
            cls.env["customer.membership"]._compute_company(company)
        cls.member = cls._membership(cls.ann)

    def test_categories_and_products(self):
        # spend: tea 200 + 80 = 280, teaware 4 - 2 refunded = 2 cups = 60,
        # snacks 100: 440 in all; quantity: tea 3, teaware 2, snacks 10
        rows = [
            (c.rank, c.category_id, round(c.spend, 2), c.spend_share, c.quantity)
            for c in self.member.profile_category_ids
        ]
        self.assertEqual(
            rows,
            [
                (1, self.tea, 280.0, 63.6, 3.0),
                (2, self.snack, 100.0, 22.7, 10.0),
                (3, self.ware, 60.0, 13.6, 2.0),
            ],
        )
        tea = self.member.profile_category_ids[0]
        self.assertEqual(tea.order_count, 2)
        self.assertEqual(tea.last_date, self.second.date_order.date())
        self.assertEqual(tea.quantity_share, 20.0)
        self.assertEqual(self.member.favourite_category_id, self.tea)
        products = self.member.profile_product_ids
        self.assertEqual(
            products.mapped("product_id"),
            self.longjing | self.cookie | self.oolong | self.cup,
        )
        self.assertEqual(products[0].product_id, self.longjing)
        self.assertNotIn(self.pot, products.product_id, "cancelled, other company")

    def test_rhythm_and_habits(self):
        member = self.member
        self.assertEqual(
            member.preferred_weekday, str(self.first.date_order.isoweekday())
        )
        self.assertEqual(member.preferred_hour_band, "morning")
        self.assertEqual(member.promotion_share, 0.0)
        self.assertEqual(member.purchase_interval_days, 35.0)
        self.assertEqual(member.main_team_id, self.first.team_id)
        other = self.Membership.search(
            [("partner_id", "=", self.ann.id), ("company_id", "=", self.company2.id)]
        )
        self.assertEqual(other.profile_product_ids.product_id, self.pot)
        self.assertEqual(other.preferred_hour_band, "afternoon")

    def test_promotion_share(self):
        program = self.env["loyalty.program"].create(
            coupon_program_vals(self.company, "Profile Coupon", 10.0)
        )
        reward = program.reward_ids
        order = self._sell(
            self.ann, [(self.cookie, 1, 10.0)], self.first.date_order, confirm=False
        )
        order.order_line = [
            Command.create(
                {
                    "product_id": reward.discount_line_product_id.id,
                    "reward_id": reward.id,
                    "name": reward.description,
                    "price_unit": -5.0,
                    "tax_id": [Command.clear()],
                }
            )
        ]
        order.action_confirm()
        order.date_order = self.first.date_order
        self.env.flush_all()
        self.Membership._update_profiles(self.company, self.member.ids)
        # one order of three used a coupon; its discount line is no product
        self.assertEqual(self.member.promotion_share, 33.3)
        self.assertNotIn(
            reward.discount_line_product_id, self.member.profile_product_ids.product_id
        )

    def test_no_purchase_in_the_window(self):
        lone = self._partner("Profile Nobody")
        member = self.Membership.create(
            {"partner_id": lone.id, "company_id": self.company.id}
        )
        self.Membership._update_profiles(self.company, member.ids)
        self.assertFalse(member.profile_category_ids)
        self.assertFalse(member.favourite_category_id)
        self.assertFalse(member.preferred_weekday)
        # and gets the company's popular products
        self.assertTrue(member.recommendation_ids)
        self.assertEqual(set(member.recommendation_ids.mapped("reason")), {"popular"})


def _weeks(count):
    return timedelta(weeks=count)


@tagged("post_install", "-at_install")
class TestPreferences(ProfileCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Attribute = cls.env["customer.preference.attribute"]
        cls.size = Attribute.create(
            {
                "name": "Size",
                "company_id": cls.company.id,
                "value_ids": [
                    Command.create({"name": name}) for name in ("S", "M", "L")
                ],
            }
        )
        cls.diet = Attribute.create(
            {
                "name": "Diet",
                "company_id": cls.company.id,
                "multiple": True,
                "value_ids": [
                    Command.create({"name": name})
                    for name in ("Vegetarian", "No nuts", "Halal")
                ],
            }
        )
        cls.bob = cls._partner("Preference Bob")
        cls.member = cls.Membership.create(
            {"partner_id": cls.bob.id, "company_id": cls.company.id}
        )

    def _value(self, attribute, name):
        return attribute.value_ids.filtered(lambda v: v.name == name)

    def test_record_and_search(self):
        self.member.preference_ids = [
            Command.create(
                {
                    "attribute_id": self.size.id,
                    "value_id": self._value(self.size, "M").id,
                }
            ),
            Command.create(
                {
                    "attribute_id": self.diet.id,
                    "value_id": self._value(self.diet, "Vegetarian").id,
                }
            ),
            Command.create(
                {
                    "attribute_id": self.diet.id,
                    "value_id": self._value(self.diet, "No nuts").id,
                }
            ),
        ]
        self.assertEqual(len(self.member.preference_ids), 3)
        found = self.Membership.search(
            [
                ("company_id", "=", self.company.id),
                ("preference_ids.value_id", "=", self._value(self.diet, "No nuts").id),
            ]
        )
        self.assertEqual(found, self.member)
        # the customer form edits the current company's membership
        partner = self.bob.with_company(self.company)
        self.assertEqual(len(partner.loyalty_preference_ids), 3)

    def test_wrong_values_are_refused(self):
        Preference = self.env["customer.preference"]
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            Preference.create(
                {
                    "membership_id": self.member.id,
                    "attribute_id": self.size.id,
                    "value_id": self._value(self.diet, "Halal").id,
                }
            )
        Preference.create(
            {
                "membership_id": self.member.id,
                "attribute_id": self.size.id,
                "value_id": self._value(self.size, "S").id,
            }
        )
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            Preference.create(
                {
                    "membership_id": self.member.id,
                    "attribute_id": self.size.id,
                    "value_id": self._value(self.size, "L").id,
                }
            )
        self.assertEqual(len(self.member.preference_ids), 1, "nothing half-written")
        other = self.env["customer.preference.attribute"].create(
            {
                "name": "Colour",
                "company_id": self.env["res.company"]
                .create({"name": "Preference Second Co"})
                .id,
                "value_ids": [Command.create({"name": "Red"})],
            }
        )
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            Preference.create(
                {
                    "membership_id": self.member.id,
                    "attribute_id": other.id,
                    "value_id": other.value_ids.id,
                }
            )
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self.env["customer.preference.attribute"].create(
                {"name": "Empty", "company_id": self.company.id}
            )

    def test_salesperson_records_for_own_customers_only(self):
        salesman = new_test_user(
            self.env,
            login="preference_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        mine = self.Membership.create(
            {
                "partner_id": self._partner("Pref Mine", user_id=salesman.id).id,
                "company_id": self.company.id,
            }
        )
        mine.user_id = salesman
        Preference = self.env["customer.preference"].with_user(salesman)
        Preference.create(
            {
                "membership_id": mine.id,
                "attribute_id": self.size.id,
                "value_id": self._value(self.size, "M").id,
            }
        )
        with self.assertRaises(AccessError):
            Preference.create(
                {
                    "membership_id": self.member.id,
                    "attribute_id": self.size.id,
                    "value_id": self._value(self.size, "M").id,
                }
            )
        with self.assertRaises(AccessError):
            self.size.with_user(salesman).write({"name": "Shoe Size"})
        # a preference cannot be moved to another member, nor pass for the
        # customer's own
        own = mine.preference_ids.with_user(salesman)
        with self.assertRaises(UserError):
            own.write({"membership_id": self.member.id})
        with self.assertRaises(UserError):
            own.write({"source": "portal"})
        with self.assertRaises(UserError):
            Preference.create(
                {
                    "membership_id": mine.id,
                    "attribute_id": self.size.id,
                    "value_id": self._value(self.size, "L").id,
                    "source": "portal",
                }
            )
        self.assertEqual(mine.preference_ids.value_id, self._value(self.size, "M"))


@tagged("post_install", "-at_install")
class TestRecommendations(ProfileCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        base = datetime(cls.today.year, cls.today.month, cls.today.day, 11)
        cls.salesman = new_test_user(
            cls.env,
            login="recommend_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        # three customers buy tea with cups; cookies are bought by many
        for index in range(3):
            buyer = cls._partner(f"Reco Buyer {index}")
            cls._sell(
                buyer, [(cls.longjing, 1, 100.0), (cls.cup, 2, 30.0)], base - _weeks(8)
            )
            cls._sell(buyer, [(cls.cookie, 1, 10.0)], base - _weeks(6))
        for index in range(4):
            cls._sell(
                cls._partner(f"Reco Snacker {index}"),
                [(cls.cookie, 3, 10.0)],
                base - _weeks(4),
            )
        # Dan buys cookies, then tea alone last
        cls.dan = cls._partner("Reco Dan", user_id=cls.salesman.id)
        cls._sell(cls.dan, [(cls.cookie, 2, 10.0)], base - _weeks(3))
        cls._sell(cls.dan, [(cls.longjing, 1, 100.0)], base - _weeks(1))
        cls.env.flush_all()
        cls.env["customer.membership"]._compute_company(cls.company)
        cls.member = cls._membership(cls.dan)
        cls.member.user_id = cls.salesman

    def test_scores_and_reasons(self):
        recommendations = self.member.recommendation_ids
        # buyers: Longjing 4 (with Dan), cups 3, cookies 8, of 8 members;
        # similarity = co / sqrt(n_i n_j) * co / (co + 2); Dan has two orders
        # (cookies three weeks ago, age 1; Longjing last, age 0) and two
        # products, each in one of his two orders (frequency 1/2).
        # The score: his orders with it, and its popularity as 12 more
        # orders of his, over his 2 + 12 orders; 0.05 x recency; 0.3 x the
        # neighbours; 0.3 x his spend share of its category.
        # cookies: (1 + 12 x 8/8) / 14 = 0.9286; recency 0.05 x (1 - 0.7) x
        # 0.7^1 = 0.0105; from Longjing 4/sqrt(32) * 4/6 = 0.4714 x 1/2 / 2
        # products = 0.1179 x 0.3 = 0.0354; 0.3 x 16.7 % on snacks (20/120,
        # as the profile keeps it) = 0.0501: 1.025, bought before
        # Longjing, in his last order: (1 + 12 x 4/8) / 14 = 0.5; 0.05 x 0.3
        # = 0.015; from cookies 0.0354; 0.3 x 83.3 % on tea = 0.2499: 0.800
        # cups: 12 x 3/8 / 14 = 0.3214; from Longjing 3/sqrt(12) * 3/5 =
        # 0.5196 x 1/2 / 2 = 0.1299, from cookies 3/sqrt(24) * 3/5 = 0.3674 x
        # 1/2 / 2 = 0.0919, x 0.3 = 0.0665: 0.388, popularity its largest part
        self.assertEqual(
            recommendations[:3].product_id, self.cookie | self.longjing | self.cup
        )
        self.assertEqual(
            recommendations[:3].mapped("reason"), ["again", "again", "popular"]
        )
        self.assertAlmostEqual(recommendations[0].score, 1.025, places=3)
        self.assertAlmostEqual(recommendations[1].score, 0.800, places=3)
        self.assertAlmostEqual(recommendations[2].score, 0.388, places=3)
        self.assertEqual(
            recommendations.mapped("rank"), list(range(1, len(recommendations) + 1))
        )
        # popular products fill in, never a product nobody bought
        self.assertNotIn(self.pot, recommendations.product_id)

    def test_a_staple_of_the_last_order_comes_back(self):
        """Groceries are rebought: a product of the last order that the member
        bought before is offered again; Longjing, no longer in the last
        order, comes back too."""
        base = datetime(self.today.year, self.today.month, self.today.day, 11)
        self._sell(self.dan, [(self.cookie, 1, 10.0)], base - timedelta(days=1))
        self.env.flush_all()
        self.Membership._update_profiles(self.company, self.member.ids)
        recommendations = self.member.recommendation_ids
        # cookies: 2 of 3 orders and bought by every member, ages 0 and 2:
        # (2 + 12) / 15 + 0.05 x 0.3 x (1 + 0.49) and more
        self.assertEqual(recommendations[0].product_id, self.cookie)
        self.assertEqual(recommendations[0].reason, "again")
        self.assertGreater(recommendations[0].score, 14 / 15 + 0.05 * 0.3 * 1.49)
        self.assertIn(self.longjing, recommendations.product_id)
        self.assertEqual(
            recommendations.filtered(lambda r: r.product_id == self.longjing).reason,
            "again",
        )

    def test_a_regular_gets_their_staples_then_what_goes_with_them(self):
        """A regular's own frequency outweighs popularity: the popular
        cookies they never buy rank below their staple and below the cups
        bought with it; at most AGAIN_SLOTS of the ten were bought before."""
        base = datetime(self.today.year, self.today.month, self.today.day, 11)
        regular = self._partner("Reco Regular")
        for week in range(24):
            self._sell(regular, [(self.longjing, 1, 100.0)], base - _weeks(week + 1))
        self.env.flush_all()
        self.Membership._compute_company(self.company)
        member = self._membership(regular)
        recommendations = member.recommendation_ids
        # Longjing: 24 of 24 orders (24 + 12 x 5/9) / 36; cups, bought by 3
        # of the 9 members, 3 of them with Longjing (5 buyers): neighbour
        # 3/sqrt(15) * 3/5 x 1/1 product x 0.3 = 0.1394, popularity 12 x 3/9
        # / 36 = 0.1111; cookies: 12 x 8/9 / 36 = 0.2963, never his
        self.assertEqual(
            recommendations[:3].product_id, self.longjing | self.cookie | self.cup
        )
        self.assertEqual(
            recommendations[:3].mapped("reason"), ["again", "popular", "co_purchase"]
        )
        self.assertAlmostEqual(recommendations[2].score, 0.251, places=3)
        # Dan with his two products, one place for them
        self._sell(self.dan, [(self.cookie, 1, 10.0)], base - timedelta(days=1))
        self.env.flush_all()
        with patch.object(customer_recommendation, "AGAIN_SLOTS", 1):
            self.Membership._update_profiles(self.company, self.member.ids)
        self.assertEqual(
            self.member.recommendation_ids.filtered(
                lambda r: r.reason == "again"
            ).product_id,
            self.cookie,
        )
        self.assertIn(self.cup, self.member.recommendation_ids.product_id)

    def test_a_pass_writes_only_what_changed(self):
        members = self.Membership.search([("company_id", "=", self.company.id)])

        def rows(of):
            return (
                of.recommendation_ids.ids,
                of.profile_category_ids.ids,
                of.profile_product_ids.ids,
            )

        before = rows(members)
        self.assertTrue(all(before))
        # the same history: nothing rewritten, the rows keep their ids
        self.assertEqual(self.Membership._update_profiles(self.company, members.ids), 0)
        members.invalidate_recordset()
        self.assertEqual(rows(members), before)
        # Dan buys a teapot: only his rows change, the others' stay as they were
        others = members - self.member
        others_rows = rows(others)
        base = datetime(self.today.year, self.today.month, self.today.day, 11)
        self._sell(self.dan, [(self.pot, 1, 200.0)], base - timedelta(days=2))
        self.env.flush_all()
        written = self.Membership._update_profiles(self.company, members.ids)
        self.assertGreater(written, 0)
        members.invalidate_recordset()
        self.assertEqual(rows(others), others_rows)
        self.assertIn(self.pot, self.member.profile_product_ids.product_id)
        # what he bought is offered again, whenever he bought it
        self.assertEqual(
            self.member.recommendation_ids.filtered(
                lambda r: r.product_id == self.pot
            ).reason,
            "again",
        )
        self.assertEqual(
            self.member.recommendation_ids.mapped("rank"),
            list(range(1, len(self.member.recommendation_ids) + 1)),
        )
        # and the next pass is quiet again
        self.assertEqual(self.Membership._update_profiles(self.company, members.ids), 0)

    def test_one_line_per_member_and_rank(self):
        first = self.member.recommendation_ids[0]
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self.env["customer.recommendation"].create(
                {
                    "membership_id": self.member.id,
                    "company_id": self.company.id,
                    "product_id": self.pot.id,
                    "rank": first.rank,
                }
            )

    def test_archived_and_unsellable_products_are_not_offered(self):
        self.cup.active = False
        self.oolong.sale_ok = False
        self.env.flush_all()
        self.env["customer.product.similarity"]._update_similarity(self.company)
        self.Membership._update_profiles(self.company, self.member.ids)
        self.assertNotIn(self.cup, self.member.recommendation_ids.product_id)
        self.assertNotIn(self.oolong, self.member.recommendation_ids.product_id)

    def test_add_from_the_quotation(self):
        order = (
            self.env["sale.order"]
            .with_user(self.salesman)
            .create({"partner_id": self.dan.id, "company_id": self.company.id})
        )
        self.assertIn(self.cup, order.loyalty_recommendation_ids.product_id)
        recommendation = order.loyalty_recommendation_ids.filtered(
            lambda r: r.product_id == self.cup
        )
        recommendation.with_context(
            recommendation_order_id=order.id
        ).action_add_to_order()
        self.assertEqual(order.order_line.product_id, self.cup)
        self.assertEqual(order.order_line.price_unit, 30.0)
        self.assertNotIn(self.cup, order.loyalty_recommendation_ids.product_id)
        # another customer's quotation, a confirmed order, no order: refused
        other = self.env["sale.order"].create(
            {
                "partner_id": self._partner("Reco Other").id,
                "company_id": self.company.id,
            }
        )
        with self.assertRaises(UserError):
            recommendation.with_context(
                recommendation_order_id=other.id
            ).action_add_to_order()
        order.action_confirm()
        with self.assertRaises(UserError):
            recommendation.with_context(
                recommendation_order_id=order.id
            ).action_add_to_order()
        with self.assertRaises(UserError):
            recommendation.action_add_to_order()
        for hostile in ("1", [order.id], True, None, 2**40):
            with self.assertRaises(UserError):
                recommendation.with_context(
                    recommendation_order_id=hostile
                ).action_add_to_order()

    def test_salesperson_sees_own_customers_recommendations(self):
        Recommendation = self.env["customer.recommendation"].with_user(self.salesman)
        self.assertEqual(
            Recommendation.search([]).membership_id, self.member, "own customers only"
        )
        buyer = self._membership(
            self.env["res.partner"].search([("name", "=", "Reco Buyer 0")])
        )
        with self.assertRaises(AccessError):
            buyer.recommendation_ids.with_user(self.salesman).read(["product_id"])
        with self.assertRaises(AccessError):
            Recommendation.create(
                {
                    "membership_id": self.member.id,
                    "company_id": self.company.id,
                    "product_id": self.pot.id,
                }
            )

    def test_campaign_mail_carries_product_cards(self):
        cards = self.member.recommendation_cards_html
        self.assertIn("Profile Cup", cards)
        self.assertEqual(
            cards.count('<td style="width:33%'),
            min(3, len(self.member.recommendation_ids)),
            "a card a product, three at most",
        )
        campaign = self.env.ref("repeat_customer.customer_campaign_repurchase")
        campaign.company_id = self.company
        delivery = (
            self.env["customer.campaign.delivery"]
            .sudo()
            .create(
                {
                    "campaign_id": campaign.id,
                    "membership_id": self.member.id,
                    "company_id": self.company.id,
                    "partner_id": self.dan.id,
                    "occurrence_key": "profile-test",
                    "delivery_date": self.today,
                    "state": "to_send",
                }
            )
        )
        body = campaign.mail_template_id._render_field("body_html", delivery.ids)[
            delivery.id
        ]
        self.assertIn("Picked for you", body)
        self.assertIn("Profile Cup", body)
        # a member with nothing to recommend gets no block
        self.member.recommendation_ids.unlink()
        self.member.invalidate_recordset(["recommendation_ids"])
        self.assertFalse(self.member.recommendation_cards_html)

    def test_migration_adds_the_block_once(self):
        template = self.env.ref("repeat_customer.mail_template_campaign_repurchase")
        # as installed before 18.0.1.9.0, in every language
        self.env.cr.execute(
            """
            UPDATE mail_template
               SET body_html = (SELECT jsonb_object_agg(lang, replace(body, %s, ''))
                                  FROM jsonb_each_text(body_html) AS t(lang, body))
             WHERE id = %s
            """,
            [RECOMMENDATION_BLOCK, template.id],
        )
        template.invalidate_recordset(["body_html"])
        self.assertNotIn("recommendation_cards_html", template.body_html)
        add_recommendation_block(self.env)
        add_recommendation_block(self.env)
        self.assertEqual(template.body_html.count("recommendation_cards_html"), 1)

    def test_migration_drops_the_member_index(self):
        cr = self.env.cr
        tables = (
            "customer_recommendation",
            "customer_profile_category",
            "customer_profile_product",
        )
        for table in tables:
            # as 18.0.1.9.0 installed it
            cr.execute(
                SQL(
                    "CREATE INDEX %s ON %s (membership_id)",
                    SQL.identifier(f"{table}__membership_id_index"),
                    SQL.identifier(table),
                )
            )
        path = file_path("repeat_customer/migrations/18.0.1.9.1/post-migration.py")
        spec = importlib.util.spec_from_file_location("migration_18_0_1_9_1", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(cr, "18.0.1.9.0")
        migration.migrate(cr, "18.0.1.9.0")
        cr.execute(
            "SELECT tablename, indexname FROM pg_indexes WHERE tablename IN %s",
            [tables],
        )
        indexes = cr.fetchall()
        self.assertFalse([i for _t, i in indexes if i.endswith("membership_id_index")])
        self.assertEqual(
            sorted(t for t, i in indexes if i.endswith("membership_rank_unique")),
            sorted(tables),
        )

    def test_quotation_form_shows_them(self):
        with Form(
            self.env["sale.order"].with_user(self.salesman).with_company(self.company)
        ) as form:
            form.partner_id = self.dan
            self.assertTrue(form.loyalty_recommendation_ids)

    def test_companies_apart(self):
        company2 = self.env["res.company"].create({"name": "Reco Second Co"})
        self.env.user.company_ids |= company2
        self._sell(
            self.dan, [(self.pot, 1, 200.0)], self.first_date(), company=company2
        )
        self.env.flush_all()
        self.Membership._compute_company(company2)
        other = self.Membership.search(
            [("partner_id", "=", self.dan.id), ("company_id", "=", company2.id)]
        )
        self.assertTrue(
            other.recommendation_ids
            <= self.env["customer.recommendation"].search(
                [("company_id", "=", company2.id)]
            )
        )
        self.assertFalse(
            self.env["customer.product.similarity"].search(
                [("company_id", "=", company2.id), ("other_id", "=", self.cup.id)]
            ),
            "the first company's tea and cups are not the second's",
        )

    def first_date(self):
        return datetime(self.today.year, self.today.month, self.today.day, 11) - _weeks(
            2
        )


@tagged("post_install", "-at_install")
class TestProfilePortal(HttpCase):
    """``/my/loyalty`` shows the customer's own recommendations and lets them
    set the attributes customers may set."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.ref("base.main_company")
        cls.user_a = new_test_user(
            cls.env, login="profile_a", groups="base.group_portal", name="Profile A"
        )
        cls.user_b = new_test_user(
            cls.env, login="profile_b", groups="base.group_portal", name="Profile B"
        )
        Membership = cls.env["customer.membership"]
        cls.member_a = Membership.create(
            {"partner_id": cls.user_a.partner_id.id, "company_id": cls.company.id}
        )
        cls.member_b = Membership.create(
            {"partner_id": cls.user_b.partner_id.id, "company_id": cls.company.id}
        )
        Product = cls.env["product.product"]
        cls.for_a = Product.create({"name": "Portal Pick For A", "list_price": 5.0})
        cls.for_b = Product.create({"name": "Portal Pick For B", "list_price": 6.0})
        Recommendation = cls.env["customer.recommendation"]
        for member, product in ((cls.member_a, cls.for_a), (cls.member_b, cls.for_b)):
            Recommendation.create(
                {
                    "membership_id": member.id,
                    "company_id": cls.company.id,
                    "product_id": product.id,
                    "rank": 1,
                    "reason": "popular",
                }
            )
        Attribute = cls.env["customer.preference.attribute"]
        cls.size = Attribute.create(
            {
                "name": "Portal Size",
                "company_id": cls.company.id,
                "portal_editable": True,
                "value_ids": [Command.create({"name": n}) for n in ("S", "M")],
            }
        )
        cls.diet = Attribute.create(
            {
                "name": "Portal Diet",
                "company_id": cls.company.id,
                "portal_editable": True,
                "multiple": True,
                "value_ids": [Command.create({"name": n}) for n in ("Vegan", "Halal")],
            }
        )
        cls.staff_only = Attribute.create(
            {
                "name": "Staff Note",
                "company_id": cls.company.id,
                "value_ids": [Command.create({"name": "VIP table"})],
            }
        )
        cls.member_a.preference_ids = [
            Command.create(
                {
                    "attribute_id": cls.staff_only.id,
                    "value_id": cls.staff_only.value_ids.id,
                }
            )
        ]

    def test_own_recommendations_and_preferences(self):
        self.authenticate("profile_a", "profile_a")
        html = self.url_open("/my/loyalty").text
        self.assertIn("Portal Pick For A", html)
        self.assertNotIn("Portal Pick For B", html)
        self.assertIn("Portal Size", html)
        self.assertNotIn(
            "Staff Note", html, "staff's attributes stay in the back office"
        )
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        medium = self.size.value_ids.filtered(lambda v: v.name == "M")
        form = [
            ("csrf_token", csrf),
            (f"attribute_{self.size.id}", str(medium.id)),
            (f"attribute_{self.diet.id}", str(self.diet.value_ids[0].id)),
            (f"attribute_{self.diet.id}", str(self.diet.value_ids[1].id)),
            # another attribute's value and garbage are ignored
            (f"attribute_{self.size.id}", str(self.diet.value_ids[0].id)),
            (f"attribute_{self.diet.id}", "not a number"),
        ]
        response = self.url_open("/my/loyalty/preferences", data=form)
        self.assertEqual(response.status_code, 200)
        self.assertIn("Your preferences are saved", response.text)
        values = self.member_a.preference_ids.value_id
        self.assertEqual(
            values, medium | self.diet.value_ids | self.staff_only.value_ids
        )
        self.assertEqual(
            set(
                self.member_a.preference_ids.filtered(
                    lambda p: p.attribute_id != self.staff_only
                ).mapped("source")
            ),
            {"portal"},
        )
        self.assertFalse(self.member_b.preference_ids, "only the customer's own")
        # clearing the select and the boxes removes the customer's values
        self.url_open(
            "/my/loyalty/preferences",
            data={"csrf_token": csrf, f"attribute_{self.size.id}": ""},
        )
        self.assertEqual(
            self.member_a.preference_ids.value_id, self.staff_only.value_ids
        )

    def test_preferences_need_csrf(self):
        self.authenticate("profile_a", "profile_a")
        response = self.url_open(
            "/my/loyalty/preferences",
            data={f"attribute_{self.size.id}": str(self.size.value_ids[0].id)},
        )
        self.assertNotEqual(response.status_code, 200)
        self.assertFalse(
            self.member_a.preference_ids.filtered(lambda p: p.attribute_id == self.size)
        )
