from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import PointsCase


@tagged("post_install", "-at_install")
class TestHostBehaviour(PointsCase):
    """Odoo's own behaviour, unchanged by the addon (issue 10, item 12):
    what Odoo lets users delete stays deletable, and the ledger stays
    traceable."""

    def test_cancelled_order_with_points_can_be_deleted(self):
        order = self._order(self.customer, 250.0)
        membership = self._membership(self.customer)
        name = order.name
        order._action_cancel()
        lines = self._entries(membership)
        self.assertEqual(sorted(lines.mapped("kind")), ["earn", "reverse"])
        order.unlink()
        self.assertFalse(order.exists())
        lines.invalidate_recordset()
        self.assertEqual(lines.mapped("sale_order_name"), [name, name])
        self.assertEqual(lines.mapped("origin"), [name, name])
        self.assertFalse(lines.sale_order_id)
        self._assert_balances_match_ledger(membership)
        self.assertEqual(membership.points_balance + membership.points_pending, 0)

    def test_deleted_quotation_gives_its_points_back(self):
        order = self._order(self.customer, 100.0)
        membership = self._membership(self.customer)
        self._release(15)
        quotation = self._order(self.customer, 100.0, state="draft")
        quotation._loyalty_redeem_points(40)
        self.assertEqual(membership.points_balance, 60)
        name = quotation.name
        quotation.unlink()
        membership.invalidate_recordset()
        self.assertEqual(membership.points_balance, 100)
        redeem = self._entries(membership, kind="redeem")
        self.assertTrue(redeem.reversal_ids)
        self.assertEqual(redeem.origin, name)
        self._assert_balances_match_ledger(membership)
        self.assertTrue(order.exists())

    def test_confirmed_order_is_still_not_deleted(self):
        order = self._order(self.customer, 100.0)
        with self.assertRaises(UserError), self.cr.savepoint():
            order.unlink()
        self.assertTrue(order.exists())
