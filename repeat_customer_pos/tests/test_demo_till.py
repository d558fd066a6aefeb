from odoo.tests import tagged

from odoo.addons.point_of_sale.tests.common import TestPoSCommon


@tagged("post_install", "-at_install")
class TestTillDemo(TestPoSCommon):
    """The demo's shops: their tills sync two years of orders through Odoo's
    POS API, and the figures count them (a smaller demo than
    ``bin/run-demo``'s, same code)."""

    def test_two_shops_with_their_customers(self):
        self.env.user.groups_id |= self.env.ref("repeat_customer.group_manager")
        Membership = self.env["customer.membership"]
        # as the demo data is loaded: as superuser
        Membership.sudo()._demo_generate(customer_count=60, seed=11)
        before = {
            m.id: m.order_count
            for m in Membership.search([("company_id", "=", self.company.id)])
        }
        self.assertTrue(self.env["pos.order"].sudo()._demo_generate_till(seed=12))
        self.assertFalse(
            self.env["pos.order"].sudo()._demo_generate_till(seed=12), "made once"
        )
        shops = self.env["pos.config"].search(
            [("name", "in", ["静安寺店 Jing'an Temple Shop", "徐汇店 Xuhui Shop"])]
        )
        self.assertEqual(len(shops), 2)
        self.assertTrue(all(s.session_ids.state == "closed" for s in shops))
        orders = self.env["pos.order"].search([("config_id", "in", shops.ids)])
        self.assertEqual(set(orders.mapped("state")), {"done"})
        self.assertTrue(orders.filtered(lambda o: not o.partner_id), "walk-ins")
        members = Membership.search([("company_id", "=", self.company.id)])
        both = members.filtered(
            lambda m: m.id in before and m.order_count > before[m.id]
        )
        till_only = members.filtered(lambda m: m.id not in before)
        self.assertTrue(both, "some customers buy online and at a shop")
        self.assertTrue(till_only, "some buy only at a shop")
        till_customers = orders.partner_id.commercial_partner_id
        self.assertEqual(set(till_only.partner_id.ids) - set(till_customers.ids), set())
        # every till customer's figures count their till orders
        for member in till_only:
            own = orders.filtered(
                lambda o, m=member: o.partner_id.commercial_partner_id == m.partner_id
            )
            self.assertEqual(member.order_count, len(own))
            self.assertIn(member.home_store_id, shops.loyalty_store_id)
        online = self.env.ref("repeat_customer_pos.demo_store_online")
        self.assertTrue(members.filtered(lambda m: m.home_store_id == online))
