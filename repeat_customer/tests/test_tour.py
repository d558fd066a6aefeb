from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .common import coupon_program_vals


@tagged("post_install", "-at_install")
class TestRedeemTour(HttpCase):
    def test_salesperson_redeems_and_applies_a_coupon(self):
        company = self.env.ref("base.main_company")
        company.loyalty_points_enabled = True
        salesman = new_test_user(
            self.env,
            login="tour_salesman",
            groups="sales_team.group_sale_salesman,repeat_customer.group_user",
            name="Tour Salesman",
        )
        program = self.env["loyalty.program"].create(
            coupon_program_vals(company, "Tour voucher", 10.0)
        )
        self.env["customer.reward"].create(
            {
                "name": "Tour voucher",
                "company_id": company.id,
                "points_cost": 200,
                "program_id": program.id,
            }
        )
        customer = self.env["res.partner"].create(
            {"name": "Tour Customer", "user_id": salesman.id}
        )
        membership = self.env["customer.membership"].create(
            {
                "partner_id": customer.id,
                "company_id": company.id,
                "user_id": salesman.id,
            }
        )
        self.env["customer.point.entry"]._post_adjustment(membership, 500, "tour")
        product = self.env["product.product"].create(
            {"name": "Tour Tea", "list_price": 100.0, "taxes_id": [Command.clear()]}
        )
        order = self.env["sale.order"].create(
            {
                "partner_id": customer.id,
                "user_id": salesman.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "price_unit": 100.0,
                            "tax_id": [Command.clear()],
                        }
                    )
                ],
            }
        )
        self.start_tour(
            f"/odoo/action-sale.action_quotations_with_onboarding/{order.id}",
            "repeat_customer_redeem_reward",
            login="tour_salesman",
        )
        membership.invalidate_recordset()
        self.assertEqual(membership.points_balance, 300)
        coupon = self.env["customer.coupon"].search(
            [("membership_id", "=", membership.id)]
        )
        self.assertEqual(len(coupon), 1)
        reward_line = order.order_line.filtered("is_reward_line")
        self.assertEqual(reward_line.coupon_id, coupon.card_id)
        self.assertAlmostEqual(order.amount_untaxed, 90.0)


@tagged("post_install", "-at_install")
class TestRecommendationTour(HttpCase):
    def test_salesperson_adds_a_recommended_product(self):
        company = self.env.ref("base.main_company")
        salesman = new_test_user(
            self.env,
            login="tour_reco_salesman",
            groups="sales_team.group_sale_salesman,repeat_customer.group_user",
            name="Tour Reco Salesman",
        )
        customer = self.env["res.partner"].create(
            {"name": "Tour Reco Customer", "user_id": salesman.id}
        )
        membership = self.env["customer.membership"].create(
            {
                "partner_id": customer.id,
                "company_id": company.id,
                "user_id": salesman.id,
            }
        )
        green, jasmine = self.env["product.product"].create(
            [
                {"name": "Tour Green Tea", "list_price": 30.0},
                {"name": "Tour Jasmine Tea", "list_price": 42.0},
            ]
        )
        self.env["customer.recommendation"].create(
            {
                "membership_id": membership.id,
                "company_id": company.id,
                "product_id": jasmine.id,
                "rank": 1,
                "score": 0.8,
                "reason": "co_purchase",
            }
        )
        order = self.env["sale.order"].create(
            {
                "partner_id": customer.id,
                "user_id": salesman.id,
                "order_line": [Command.create({"product_id": green.id})],
            }
        )
        self.start_tour(
            f"/odoo/action-sale.action_quotations_with_onboarding/{order.id}",
            "repeat_customer_add_recommendation",
            login="tour_reco_salesman",
        )
        line = order.order_line.filtered(lambda line: line.product_id == jasmine)
        self.assertEqual(len(line), 1)
        self.assertEqual(line.product_uom_qty, 1)
        self.assertAlmostEqual(line.price_unit, 42.0)
        # once on the quotation, it is no longer recommended there
        self.assertFalse(order.loyalty_recommendation_ids)
