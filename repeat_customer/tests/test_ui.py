from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import RepeatCustomerCase


@tagged("post_install", "-at_install")
class TestUi(RepeatCustomerCase):
    def test_partner_form_shows_loyalty(self):
        partner = self._partner("Form Fan")
        contact = self._partner("Form Fan's Son", parent_id=partner.id)
        self._order(contact, 120.0, days_ago=12)
        self._order(partner, 80.0, days_ago=2)
        self._compute()
        with Form(partner) as form:
            self.assertEqual(form.loyalty_order_count, 2)
            self.assertEqual(form.loyalty_total_spent, 200.0)
            self.assertTrue(form.loyalty_segment_id)
            self.assertEqual(form.loyalty_rfm_score, partner.loyalty_rfm_score)
        # a contact shows its company's membership
        self.assertEqual(contact.loyalty_membership_id, partner.loyalty_membership_id)
        self.assertIn(
            partner,
            self.env["res.partner"].search(
                [("loyalty_membership_id", "!=", False), ("id", "=", partner.id)]
            ),
        )
        action = partner.action_view_loyalty_membership()
        self.assertEqual(action["res_id"], partner.loyalty_membership_id.id)
        orders = self.env["sale.order"].search(
            partner.action_view_loyalty_orders()["domain"]
        )
        self.assertEqual(len(orders), 2)

    def test_enrol_button(self):
        partner = self._partner("Walk-in With History")
        self.company.loyalty_auto_enroll = False
        self._order(partner, 45.0, days_ago=20)
        self.assertFalse(partner.loyalty_membership_id)
        action = partner.action_loyalty_enrol()
        membership = self.Membership.browse(action["res_id"])
        self.assertEqual(membership.partner_id, partner)
        self.assertEqual(membership.order_count, 1, "history counted at enrolment")
        self.assertAlmostEqual(membership.total_spent, 45.0)
        partner.invalidate_recordset()
        self.assertEqual(partner.loyalty_membership_id, membership)
        # enrolling twice is harmless
        self.assertEqual(partner.action_loyalty_enrol()["res_id"], membership.id)

    def test_membership_form_and_views(self):
        partner = self._partner("Kanban Kate")
        with Form(self.Membership) as form:
            form.partner_id = partner
        membership = form.record
        self.assertEqual(membership.company_id, self.company)
        self.assertRegex(membership.name, r"^M\d{7}$")
        for view_type in ("list", "form", "kanban", "pivot", "graph", "search"):
            arch = self.Membership.get_view(view_type=view_type)["arch"]
            self.assertTrue(arch)
        self.env.flush_all()
        self.env.cr.precommit.run()
        membership.action_block()
        self.assertEqual(membership.state, "blocked")
        self.env.flush_all()
        self.env.cr.precommit.run()  # tracking is written at commit time
        tracked = membership.message_ids.tracking_value_ids.filtered(
            lambda t: t.field_id.name == "state"
        )
        self.assertEqual(len(tracked), 1, "the status change is in the chatter")
        membership.action_activate()
        self.assertEqual(membership.state, "active")

    def test_rf_matrix_groups(self):
        for index, days in enumerate((3, 40, 100, 200, 400)):
            self._order(self._partner(f"Matrix {index}"), 10.0, days_ago=days)
        self._compute()
        groups = self.Membership._read_group(
            [("company_id", "=", self.company.id), ("rfm_recency_score", "!=", False)],
            ["rfm_recency_score", "rfm_frequency_score"],
            ["__count"],
        )
        self.assertEqual(sum(count for _r, _f, count in groups), 5)
        self.assertEqual({r for r, _f, _c in groups}, {1, 2, 3, 4, 5})
        # the report: recency 5 on top as on the overview, with totals
        matrix = self.env["customer.overview"].get_rf_matrix(
            {"company_id": self.company.id}
        )
        grid = matrix["rf_grid"]
        self.assertEqual([line[0]["r"] for line in grid], [5, 4, 3, 2, 1])
        self.assertEqual([cell["f"] for cell in grid[0]], [1, 2, 3, 4, 5])
        self.assertEqual(matrix["total"], 5)
        self.assertEqual(sum(matrix["rows"]), 5)
        self.assertEqual(sum(matrix["columns"]), 5)
        filled = [cell for line in grid for cell in line if cell["count"]]
        self.assertAlmostEqual(sum(c["member_share"] for c in filled), 100.0)
        self.assertAlmostEqual(sum(c["share"] for c in filled), 100.0)
        for cell in filled:
            self.assertAlmostEqual(cell["average_spent"], 10.0)
            self.assertTrue(cell["segment"])
        self.assertTrue(type(self.env["customer.overview"]).get_rf_matrix._readonly)
        with self.assertRaises(UserError):
            self.env["customer.overview"].get_rf_matrix({"tier_id": "x"})
