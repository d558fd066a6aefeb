from datetime import date
from unittest.mock import patch

from odoo.tests import tagged

from .common import RewardsCase


@tagged("post_install", "-at_install")
class TestPolicies(RewardsCase):
    """The expiry of points and the coupon codes are model methods that
    another addon overrides (issue 10, item 6): every path uses them."""

    def test_points_expiry_policy_is_a_company_method(self):
        fixed = date(2030, 1, 31)
        with patch.object(
            type(self.company), "_loyalty_points_expiry_date", lambda self, d: fixed
        ):
            self._order(self.customer, 100.0)
            membership = self._membership(self.customer)
            given = self._give(membership, 5)
        self.assertEqual(self._entries(membership, kind="earn").expiry_date, fixed)
        self.assertEqual(given.expiry_date, fixed)

    def test_coupon_code_policy_is_a_coupon_method(self):
        membership = self._member(self.customer, 500)
        with patch.object(
            type(self.Coupon), "_generate_code", lambda self: "SHOP2026SPRING01"
        ):
            coupon = self.reward._redeem(membership)
        self.assertEqual(coupon.code, "SHOP2026SPRING01")
