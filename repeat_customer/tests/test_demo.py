from odoo.tests import tagged

from .common import RepeatCustomerCase


@tagged("post_install", "-at_install")
class TestDemoData(RepeatCustomerCase):
    def test_demo_generator_shows_every_segment_and_risk(self):
        """The demo customers populate all eleven segments and all three churn
        risk levels, in the company the generator runs for."""
        tiers = self.env["customer.tier"].create(
            [
                {
                    "name": name,
                    "sequence": seq,
                    "threshold": threshold,
                    "company_id": self.company.id,
                }
                for seq, (name, threshold) in enumerate(
                    [("Silver", 3000), ("Gold", 10000), ("VIP", 30000)]
                )
            ]
        )
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
        # the points history: earned, released, expired and spent; every tier
        # has members and balances are the ledger's sums
        self.assertEqual(memberships.tier_id, tiers)
        entries = self.env["customer.point.entry"].search(
            [("company_id", "=", self.company.id)]
        )
        self.assertEqual(set(entries.mapped("kind")), {"earn", "expire", "redeem"})
        self.assertGreater(len(memberships.filtered("points_balance")), 200)
        self.env.cr.execute(
            """
            SELECT count(*) FROM customer_membership m
              LEFT JOIN (SELECT membership_id,
                                sum(points) FILTER (WHERE state = 'available') av
                           FROM customer_point_entry GROUP BY membership_id) l
                ON l.membership_id = m.id
             WHERE m.company_id = %s AND m.points_balance <> COALESCE(l.av, 0)
            """,
            [self.company.id],
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        self.assertTrue(
            self.env["sale.order"].search(
                [
                    ("company_id", "=", self.company.id),
                    ("state", "=", "draft"),
                    ("order_line.loyalty_point_entry_id", "!=", False),
                ]
            )
        )
        # a second call is a no-op: the demo exists
        self.assertFalse(generator._generate_demo_data(customer_count=520))
