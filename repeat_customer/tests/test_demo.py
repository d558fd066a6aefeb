from odoo.tests import tagged

from .common import RepeatCustomerCase


@tagged("post_install", "-at_install")
class TestDemoData(RepeatCustomerCase):
    def test_demo_generator_shows_every_segment_and_risk(self):
        """The demo customers populate all eleven segments and all three churn
        risk levels, in the company the generator runs for."""
        generator = self.env["customer.demo.generator"]
        self.assertTrue(generator._generate_demo_data(customer_count=520))
        memberships = self.Membership.search([("company_id", "=", self.company.id)])
        self.assertGreaterEqual(len(memberships), 500)
        segments = self.env["customer.segment"].search([])
        self.assertEqual(memberships.segment_id, segments)
        self.assertEqual(
            set(memberships.mapped("churn_risk")), {"low", "medium", "high"}
        )
        self.assertTrue(all(m.order_count > 0 for m in memberships))
        self.assertGreater(
            max(memberships.mapped("first_order_date")),
            min(memberships.mapped("first_order_date")),
        )
        # a second call is a no-op: the demo exists
        self.assertFalse(generator._generate_demo_data(customer_count=520))
