from datetime import timedelta

from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..hooks import post_init_hook
from .common import RepeatCustomerCase


@tagged("post_install", "-at_install")
class TestStatistics(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.usd = cls.env.ref("base.USD")
        cls.usd.active = True
        # 1 EUR = 2 USD 40 days ago, 1 EUR = 4 USD from 10 days ago on
        cls.env["res.currency.rate"].create(
            [
                {
                    "name": cls.today - timedelta(days=40),
                    "rate": 2.0,
                    "currency_id": cls.usd.id,
                    "company_id": cls.company.id,
                },
                {
                    "name": cls.today - timedelta(days=10),
                    "rate": 4.0,
                    "currency_id": cls.usd.id,
                    "company_id": cls.company.id,
                },
            ]
        )
        cls.alice = cls._partner("Alice")
        cls.acme = cls._partner("Acme Ltd", is_company=True)
        cls.acme_buyer = cls._partner("Bob of Acme", parent_id=cls.acme.id)
        cls.single = cls._partner("Single Order Sam")

    def test_order_statistics(self):
        """Hand-computed figures: currencies, cancelled orders, child contacts."""
        self._order(self.alice, 100.0, days_ago=100)
        self._order(self.alice, 300.0, days_ago=20, currency=self.usd)  # 150 EUR
        self._order(self.alice, 400.0, days_ago=5, currency=self.usd)  # 100 EUR
        self._order(self.alice, 999.0, days_ago=2, state="cancel")
        self._order(self.alice, 555.0, days_ago=1, state="draft")
        self._order(self.acme, 50.0, days_ago=30)
        self._order(self.acme_buyer, 70.0, days_ago=30)  # same day, child contact
        self._order(self.single, 80.0, days_ago=400)
        self._compute()

        alice = self._membership(self.alice)
        self.assertEqual(alice.order_count, 3)
        self.assertEqual(alice.purchase_day_count, 3)
        self.assertAlmostEqual(alice.total_spent, 350.0, places=2)
        self.assertAlmostEqual(alice.average_order_value, 350.0 / 3, places=2)
        self.assertEqual(alice.first_order_date, self.today - timedelta(days=100))
        self.assertEqual(alice.last_order_date, self.today - timedelta(days=5))
        self.assertEqual(alice.recency_days, 5)

        acme = self._membership(self.acme_buyer)
        self.assertEqual(acme.partner_id, self.acme, "contacts roll up")
        self.assertFalse(self._membership(self.acme_buyer).partner_id.parent_id)
        self.assertEqual(acme.order_count, 2)
        self.assertEqual(acme.purchase_day_count, 1)
        self.assertAlmostEqual(acme.total_spent, 120.0, places=2)
        self.assertEqual(
            self.Membership.search_count([("partner_id", "=", self.acme_buyer.id)]),
            0,
        )

        single = self._membership(self.single)
        self.assertEqual(single.order_count, 1)
        self.assertEqual(single.recency_days, 400)
        self.assertAlmostEqual(single.total_spent, 80.0)
        self.assertAlmostEqual(single.average_order_value, 80.0)
        # outside the default 730-day window? no: 400 < 730, so it counts
        self.assertEqual(single.rfm_frequency, 1)

    def test_rfm_window(self):
        self.company.loyalty_rfm_window_days = 50
        self._order(self.alice, 100.0, days_ago=100)
        self._order(self.alice, 40.0, days_ago=10)
        self._compute()
        alice = self._membership(self.alice)
        self.assertEqual(alice.order_count, 2)
        self.assertEqual(alice.rfm_frequency, 1)
        self.assertAlmostEqual(alice.rfm_monetary, 40.0)
        self.assertAlmostEqual(alice.total_spent, 140.0)

    def test_enrol_on_first_confirmation(self):
        partner = self._partner("New Customer")
        self.assertFalse(self._membership(partner))
        self._order(partner, 10.0, state="draft")
        self.assertFalse(self._membership(partner), "quotations do not enrol")
        order = self._order(partner, 25.0)
        membership = self._membership(partner)
        self.assertTrue(membership.name.startswith("M"))
        self.assertEqual(membership.join_date, self.today)
        self.assertEqual(membership.order_count, 1, "figures follow confirmation")
        self.assertAlmostEqual(membership.total_spent, 25.0)
        self.assertEqual(order.loyalty_membership_id, membership)
        order._action_cancel()
        membership.invalidate_recordset()
        self.assertEqual(membership.order_count, 0, "cancelled orders never count")

    def test_no_auto_enrol(self):
        self.company.loyalty_auto_enroll = False
        partner = self._partner("Walk-in")
        self._order(partner, 10.0)
        self._compute()
        self.assertFalse(self._membership(partner))

    def test_manual_enrolment_without_orders(self):
        partner = self._partner("Prospect")
        membership = self.Membership.create(
            {"partner_id": partner.id, "company_id": self.company.id}
        )
        self._compute()
        self.assertEqual(membership.order_count, 0)
        self.assertEqual(membership.total_spent, 0.0)
        self.assertFalse(membership.last_order_date)
        self.assertFalse(membership.rfm_score)
        self.assertFalse(membership.segment_id)
        self.assertFalse(membership.churn_risk)

    def test_membership_unique_and_contact_rolls_up(self):
        membership = self.Membership.create(
            {"partner_id": self.acme_buyer.id, "company_id": self.company.id}
        )
        self.assertEqual(membership.partner_id, self.acme)
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.cr.savepoint(),
        ):
            self.Membership.create(
                {"partner_id": self.acme.id, "company_id": self.company.id}
            )
        with self.assertRaises(UserError):
            membership.write({"partner_id": self.alice.id})
        self.assertEqual(membership.partner_id, self.acme)

    def test_archived_partner(self):
        """Archived customers are not enrolled from history; an existing
        membership keeps being computed."""
        archived = self._partner("Gone Away")
        kept = self._partner("Kept Member")
        self.company.loyalty_auto_enroll = False
        self._order(archived, 60.0, days_ago=3)
        self._order(kept, 70.0, days_ago=3)
        membership = self.Membership.create(
            {"partner_id": kept.id, "company_id": self.company.id}
        )
        archived.active = False
        kept.active = False
        self.company.loyalty_auto_enroll = True
        self._compute()
        self.assertFalse(self._membership(archived))
        self.assertEqual(membership.order_count, 1)
        self.assertAlmostEqual(membership.total_spent, 70.0)

    def test_backfill_on_install(self):
        """The install hook enrols the customers of existing orders and fills
        in their figures."""
        self.company.loyalty_auto_enroll = False
        self._order(self.alice, 100.0, days_ago=200)
        self._order(self.alice, 50.0, days_ago=20)
        self._order(self.acme_buyer, 30.0, days_ago=60)
        self._order(self.single, 10.0, days_ago=3, state="cancel")
        self.assertFalse(self._membership(self.alice))
        self.company.loyalty_auto_enroll = True
        self.env["ir.config_parameter"].sudo().set_param(
            "repeat_customer.batch_size", "1"
        )
        post_init_hook(self.env)
        alice = self._membership(self.alice)
        self.assertEqual(alice.order_count, 2)
        self.assertAlmostEqual(alice.total_spent, 150.0)
        self.assertEqual(alice.join_date, self.today - timedelta(days=200))
        self.assertTrue(alice.rfm_score)
        self.assertTrue(alice.segment_id)
        acme = self._membership(self.acme)
        self.assertEqual(acme.order_count, 1)
        self.assertFalse(self._membership(self.single), "cancelled orders don't enrol")


@tagged("post_install", "-at_install")
class TestInvoiceStatistics(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.country_id = cls.env.ref("base.us")
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=cls.company, install_demo=False
        )
        cls.company.loyalty_stats_source = "invoice"
        cls.customer = cls._partner("Invoice Ivy")
        cls.contact = cls._partner("Ivy's Assistant", parent_id=cls.customer.id)

    def _move(self, move_type, partner, amount, days_ago, post=True):
        move = (
            self.env["account.move"]
            .with_company(self.company)
            .create(
                {
                    "move_type": move_type,
                    "partner_id": partner.id,
                    "invoice_date": self.today - timedelta(days=days_ago),
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": "Tea",
                                "quantity": 1,
                                "price_unit": amount,
                                "tax_ids": [Command.clear()],
                            }
                        )
                    ],
                }
            )
        )
        if post:
            move.action_post()
        return move

    def test_invoice_statistics_net_of_credit_notes(self):
        self._move("out_invoice", self.customer, 200.0, days_ago=50)
        self._move("out_invoice", self.contact, 100.0, days_ago=10)
        self._move("out_refund", self.customer, 40.0, days_ago=5)
        self._move("out_invoice", self.customer, 500.0, days_ago=3, post=False)
        cancelled = self._move("out_invoice", self.customer, 700.0, days_ago=2)
        cancelled.button_draft()
        cancelled.button_cancel()
        self._compute()
        membership = self._membership(self.customer)
        self.assertEqual(membership.order_count, 2)
        self.assertAlmostEqual(membership.total_spent, 260.0)
        self.assertAlmostEqual(membership.average_order_value, 130.0)
        self.assertEqual(membership.first_order_date, self.today - timedelta(days=50))
        self.assertEqual(membership.last_order_date, self.today - timedelta(days=10))
        self.assertEqual(membership.recency_days, 10)

    def test_invalid_source_refused(self):
        with self.assertRaisesRegex(ValidationError, "not one of the choices"):
            self.company.loyalty_stats_source = "pos"
        with self.assertRaises(ValidationError):
            self.company.loyalty_rfm_window_days = 0
