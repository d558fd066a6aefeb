"""The nightly statistics pass recomputes the members whose documents changed
since the last pass, and every member once a week."""

from datetime import timedelta

from freezegun import freeze_time

from odoo import Command, fields
from odoo.tests import tagged

from .common import RepeatCustomerCase, run_until_done

WINDOW = 100


@tagged("post_install", "-at_install")
class TestNightlyChanges(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.loyalty_rfm_window_days = WINDOW
        cls.edited = cls._partner("Edited after confirmation")
        cls.silent = cls._partner("Changed by SQL")
        cls.leaving = cls._partner("Order leaving the window")
        cls.quiet = cls._partner("Nothing happens")
        cls.edited_order = cls._order(cls.edited, 100.0, days_ago=5)
        cls.silent_order = cls._order(cls.silent, 100.0, days_ago=5)
        # inside the window today, outside from tomorrow
        cls._order(cls.leaving, 70.0, days_ago=WINDOW - 1)
        cls._order(cls.quiet, 30.0, days_ago=3)

    def _run_cron(self):
        run_until_done(self.Membership._cron_compute_customers)

    def _age_everything(self):
        """As if the last pass happened two days ago, and every write the day
        before it."""
        for table in ("sale_order", "res_partner"):
            self.env.cr.execute(
                f"UPDATE {table} SET write_date = write_date - interval '3 days'"
            )
        self.env.cr.execute(
            "UPDATE customer_membership"
            " SET create_date = create_date - interval '3 days'"
        )
        self.company.loyalty_stats_since -= timedelta(days=2)
        self.env.invalidate_all()

    def _day(self, days):
        noon = fields.Datetime.to_datetime(self.today) + timedelta(days=days, hours=12)
        return freeze_time(noon)

    def test_changed_members_only_then_full_weekly(self):
        self._run_cron()
        self.assertEqual(self.company.loyalty_stats_full_date, self.today)
        self._age_everything()
        edited = self._membership(self.edited)
        silent = self._membership(self.silent)
        leaving = self._membership(self.leaving)
        self.assertEqual(leaving.rfm_frequency, 1)
        # an order edited through Odoo after confirmation: no event refreshes
        # its customer, its write date tells the night
        self.edited_order.order_line = [
            Command.create(
                {
                    "product_id": self.product.id,
                    "product_uom_qty": 1,
                    "price_unit": 50.0,
                    "tax_id": [Command.clear()],
                }
            )
        ]
        self.edited_order.flush_recordset()
        # an order changed by SQL behind Odoo's back (write date untouched)
        self.env.cr.execute(
            "UPDATE sale_order SET amount_untaxed = 999 WHERE id = %s",
            [self.silent_order.id],
        )
        # churn figures are recomputed for members whose statistics changed,
        # everyone else's on the weekly pass
        quiet = self._membership(self.quiet)
        self.env.cr.execute(
            "UPDATE customer_membership SET churn_probability = 0.42 WHERE id IN %s",
            [(quiet.id, edited.id)],
        )
        self.env.invalidate_all()
        with self._day(1):
            self._run_cron()
        self.env.invalidate_all()
        self.assertEqual(quiet.churn_probability, 0.42)
        self.assertEqual(quiet.churn_risk, "low")
        self.assertNotEqual(edited.churn_probability, 0.42)
        self.assertAlmostEqual(edited.total_spent, 150.0)
        self.assertEqual(leaving.rfm_frequency, 0)
        self.assertAlmostEqual(leaving.total_spent, 70.0)
        # not seen by the changed-members pass...
        self.assertAlmostEqual(silent.total_spent, 100.0)
        self.assertEqual(self.company.loyalty_stats_full_date, self.today)
        # ...but by the weekly full pass
        with self._day(7):
            self._run_cron()
        self.env.invalidate_all()
        self.assertAlmostEqual(silent.total_spent, 999.0)
        self.assertNotEqual(quiet.churn_probability, 0.42)
        self.assertEqual(
            self.company.loyalty_stats_full_date, self.today + timedelta(days=7)
        )

    def test_settings_change_forces_a_full_pass(self):
        self._run_cron()
        self._age_everything()
        self.env.cr.execute(
            "UPDATE sale_order SET amount_untaxed = 999 WHERE id = %s",
            [self.silent_order.id],
        )
        self.env.invalidate_all()
        self.company.loyalty_rfm_window_days = WINDOW + 1
        with self._day(1):
            self._run_cron()
        self.env.invalidate_all()
        self.assertAlmostEqual(self._membership(self.silent).total_spent, 999.0)
        self.assertEqual(
            self.company.loyalty_stats_full_date, self.today + timedelta(days=1)
        )

    def test_changed_pass_equals_full_pass(self):
        """Whatever changed, the members the pass skips were right already."""
        self._run_cron()
        self._age_everything()
        self._order(self.quiet, 45.0, days_ago=0)
        self._order(self._partner("New customer"), 12.0, days_ago=0)
        with self._day(1):
            self._run_cron()
            self.env.invalidate_all()
            members = self.Membership.search([("company_id", "=", self.company.id)])
            nightly = {
                m.id: (m.order_count, m.total_spent, m.rfm_frequency, m.rfm_monetary)
                for m in members
            }
            self.Membership._compute_company(self.company)
            self.env.invalidate_all()
            full = {
                m.id: (m.order_count, m.total_spent, m.rfm_frequency, m.rfm_monetary)
                for m in members
            }
        self.assertEqual(len(members), 5)
        self.assertEqual(nightly, full)
