from datetime import timedelta

from odoo.tests import tagged

from .common import RewardsCase


@tagged("post_install", "-at_install")
class TestMergeContacts(RewardsCase):
    """Odoo's *Merge Contacts* merges the memberships of the customers it
    merges (issue 10, item 9): nothing is lost or counted twice."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.twin = cls._partner("Lin Mei (duplicate)", email="lin.mei@example.com")

    def _merge(self, partners, dst):
        wizard = self.env["base.partner.merge.automatic.wizard"].create(
            {"state": "option"}
        )
        wizard._merge(partners.ids, dst_partner=dst)
        self.env.invalidate_all()

    def test_both_members_become_one(self):
        self._order(self.twin, 300.0)
        self._order(self.customer, 100.0, days_ago=3)
        self._release(15)
        lost = self._membership(self.twin)
        kept = self._membership(self.customer)
        lost_number, kept_number = lost.name, kept.name
        # pending points, points expiring soon and a coupon of the twin
        self._order(self.twin, 50.0)
        coupon = self.reward._redeem(lost)
        self._give(lost, 40, expiry_date=self.today + timedelta(days=5))
        lines = self._entries(lost) | self._entries(kept)
        self.assertEqual(lost.points_balance, 300 + 40 - 200)
        self.assertEqual(kept.points_balance, 100)
        self._compute()

        self._merge(self.customer | self.twin, self.customer)

        self.assertFalse(lost.exists())
        self.assertFalse(self.twin.exists())
        self.assertEqual(
            self.Membership.search([("partner_id", "=", self.customer.id)]), kept
        )
        self.assertEqual(kept.name, kept_number, "the survivor keeps its number")
        self.assertEqual(self._entries(kept), lines.exists())
        self.assertEqual(len(lines.exists()), len(lines))
        self.assertEqual(kept.points_balance, 240)
        self.assertEqual(kept.points_pending, 50)
        self.assertEqual(kept.points_expiring_soon, 40)
        self._assert_balances_match_ledger(kept)
        # statistics from both customers' orders, each counted once
        self.assertEqual(kept.order_count, 3)
        self.assertEqual(kept.total_spent, 450.0)
        self.assertTrue(kept.segment_id)
        # the twin's coupon is the merged customer's, usable on their orders
        self.assertEqual(coupon.membership_id, kept)
        self.assertEqual(coupon.partner_id, self.customer)
        self.assertEqual(coupon.card_id.partner_id, self.customer)
        quotation = self._quotation(self.customer, 100.0)
        self.assertIsNone(quotation._loyalty_coupon_error(coupon.card_id))
        self.assertTrue(
            any(lost_number in message.body for message in kept.message_ids),
            "the lost membership's number is in the chatter",
        )
        self.assertTrue(kept.snapshot_ids)
        self.assertEqual(
            len(kept.snapshot_ids), len(set(kept.snapshot_ids.mapped("snapshot_date")))
        )

    def test_a_debt_is_settled_from_the_other_customers_points(self):
        self.company.loyalty_points_pending_days = 0
        order = self._order(self.twin, 100.0)
        lost = self._membership(self.twin)
        self.Entry._post_redemption(lost, 80)
        order._action_cancel()
        self.assertEqual(lost.points_balance, -80)
        kept = self._member(self.customer, 100)

        self._merge(self.twin | self.customer, self.customer)

        self.assertEqual(kept.points_balance, 20)
        self.assertFalse(kept.has_negative_balance)
        self._assert_balances_match_ledger(kept)
        reversal = self._entries(kept, kind="reverse")
        self.assertEqual(reversal.remaining_points, 0, "the debt is settled")

    def test_only_one_member(self):
        self._order(self.twin, 120.0)
        membership = self._membership(self.twin)
        number = membership.name
        self.assertFalse(self._membership(self.customer))

        self._merge(self.twin | self.customer, self.customer)

        self.assertEqual(self._membership(self.customer), membership)
        self.assertEqual(membership.name, number)
        self.assertEqual(membership.partner_id, self.customer)
        self.assertEqual(membership.order_count, 1)
        self.assertEqual(self._entries(membership).partner_id, self.customer)

    def test_members_of_different_companies_stay_apart(self):
        other_company = self.env["res.company"].create({"name": "Other Shop"})
        here = self._member(self.twin, 70)
        there = self.Membership.create(
            {"partner_id": self.customer.id, "company_id": other_company.id}
        )

        self._merge(self.twin | self.customer, self.customer)

        self.assertEqual(here.partner_id, self.customer)
        self.assertEqual(there.partner_id, self.customer)
        self.assertEqual(here.points_balance, 70)
        self.assertEqual(here.company_id, self.company)
        self.assertEqual(there.company_id, other_company)

    def test_batch_coupons_of_both_stay_and_higher_tier_kept(self):
        gold = self.env["customer.tier"].create(
            {"name": "Gold", "company_id": self.company.id, "threshold": 1000.0}
        )
        lost = self._member(self.twin)
        kept = self._member(self.customer)
        lost.sudo().write({"tier_id": gold.id, "tier_since_date": self.today})
        batch = self.env["customer.coupon.batch"].create(
            {
                "name": "Spring",
                "company_id": self.company.id,
                "program_id": self.program.id,
                "target": "members",
                "membership_ids": (lost | kept).ids,
            }
        )
        batch.action_issue()
        self.assertEqual(len(batch.coupon_ids), 2)

        self._merge(self.twin | self.customer, self.customer)

        self.assertEqual(batch.coupon_ids.membership_id, kept)
        self.assertEqual(sorted(batch.coupon_ids.mapped("batch_index")), [1, 2])
        self.assertEqual(batch.membership_ids, kept)
        self.assertEqual(kept.tier_id, gold, "a merge never downgrades")
        # issuing the batch again gives nobody more
        batch.action_issue()
        self.assertEqual(len(batch.coupon_ids), 2)
