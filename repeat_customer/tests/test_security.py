from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import RepeatCustomerCase


@tagged("post_install", "-at_install")
class TestSecurity(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create({"name": "Other Co"})
        cls.salesman_a = new_test_user(
            cls.env,
            login="rc_sales_a",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )
        cls.salesman_b = new_test_user(
            cls.env,
            login="rc_sales_b",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )
        cls.manager = new_test_user(
            cls.env,
            login="rc_manager",
            groups="repeat_customer.group_manager,sales_team.group_sale_manager",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )
        cls.customer_a = cls._partner("Customer of A", user_id=cls.salesman_a.id)
        cls.customer_b = cls._partner("Customer of B", user_id=cls.salesman_b.id)
        cls._order(cls.customer_a, 10.0, days_ago=3)
        cls._order(cls.customer_b, 10.0, days_ago=3)
        cls.membership_a = cls._membership(cls.customer_a)
        cls.membership_b = cls._membership(cls.customer_b)
        cls.other_membership = cls.Membership.create(
            {"partner_id": cls.customer_a.id, "company_id": cls.other_company.id}
        )

    def test_salespeople_are_loyalty_users(self):
        self.assertTrue(self.salesman_a.has_group("repeat_customer.group_user"))
        self.assertFalse(self.salesman_a.has_group("repeat_customer.group_manager"))

    def test_salesperson_sees_only_own_members(self):
        Membership = self.Membership.with_user(self.salesman_a)
        visible = Membership.search([])
        self.assertIn(self.membership_a, visible)
        self.assertNotIn(self.membership_b, visible)
        with self.assertRaises(AccessError):
            self.membership_b.with_user(self.salesman_a).read(["total_spent"])
        with self.assertRaises(AccessError):
            self.membership_b.with_user(self.salesman_a).write({"state": "blocked"})
        self.assertEqual(self.membership_b.state, "active")
        # the partner form shows only what the salesperson may see
        self.assertEqual(
            self.customer_a.with_user(self.salesman_a).loyalty_membership_id,
            self.membership_a,
        )
        with self.assertRaises(AccessError):
            self.membership_a.with_user(self.salesman_a).unlink()

    def test_company_isolation(self):
        """A user of company A cannot read company B's memberships, even their
        own customer's."""
        Membership = self.Membership.with_user(self.manager)
        self.assertIn(self.membership_b, Membership.search([]))
        self.assertNotIn(self.other_membership, Membership.search([]))
        with self.assertRaises(AccessError):
            self.other_membership.with_user(self.manager).read(["order_count"])
        snapshots = self.env["customer.rfm.snapshot"].with_user(self.manager)
        self._compute()
        self.assertTrue(all(s.company_id == self.company for s in snapshots.search([])))

    def test_salesperson_cannot_configure(self):
        with self.assertRaises(AccessError):
            self.env["customer.segment"].with_user(self.salesman_a).create(
                {"name": "Mine"}
            )
        segment = self.env.ref("repeat_customer.segment_champions")
        with self.assertRaises(AccessError):
            segment.with_user(self.salesman_a).write({"recency_min": 1})
        self.assertEqual(segment.recency_min, 5)

    def test_salesperson_confirms_order_of_new_customer(self):
        """Enrolment on confirmation works for a salesperson too."""
        customer = self._partner("Fresh", user_id=self.salesman_a.id)
        order = self._order(customer, 33.0, state="draft")
        order.with_user(self.salesman_a).action_confirm()
        membership = self.Membership.with_user(self.salesman_a).search(
            [("partner_id", "=", customer.id)]
        )
        self.assertEqual(membership.order_count, 1)

    def test_salesperson_set_in_same_transaction(self):
        """A membership created at confirmation carries the salesperson set on
        the customer just before, so the salesperson sees it at once."""
        customer = self._partner("Brand New")
        order = self._order(customer, 12.0, state="draft")
        customer.user_id = self.salesman_b
        order.action_confirm()
        membership = self._membership(customer)
        self.assertEqual(membership.user_id, self.salesman_b)
        self.assertEqual(
            self.Membership.with_user(self.salesman_b).search(
                [("partner_id", "=", customer.id)]
            ),
            membership,
        )
