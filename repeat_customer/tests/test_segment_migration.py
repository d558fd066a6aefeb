"""Segment migration between two dates, from the RFM snapshots."""

from datetime import timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import RepeatCustomerCase


@tagged("post_install", "-at_install")
class TestSegmentMigration(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = new_test_user(
            cls.env,
            login="migration_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        Segment = cls.env["customer.segment"]
        cls.champions = Segment.search([("name", "=", "Champions")], limit=1)
        cls.loyal = Segment.search([("name", "=", "Loyal")], limit=1)
        cls.at_risk = Segment.search([("name", "=", "At risk")], limit=1)
        cls.new = cls.env.ref("repeat_customer.segment_new")
        partners = [
            cls._partner("Mover", user_id=cls.salesman.id),
            cls._partner("Stayer"),
            cls._partner("Newcomer"),
        ]
        for partner in partners:
            cls._order(partner, 50.0, days_ago=40)
        cls.mover, cls.stayer, cls.newcomer = (cls._membership(p) for p in partners)
        members = cls.mover | cls.stayer | cls.newcomer
        cls.env["customer.rfm.snapshot"].search(
            [("membership_id", "in", members.ids)]
        ).unlink()
        today = cls.company._loyalty_today()
        cls.today = today
        for membership, days_ago, segment in (
            (cls.mover, 30, cls.champions),
            (cls.mover, 5, cls.at_risk),
            (cls.stayer, 30, cls.loyal),
            (cls.newcomer, 2, cls.new),
        ):
            cls.env["customer.rfm.snapshot"].create(
                {
                    "membership_id": membership.id,
                    "company_id": cls.company.id,
                    "snapshot_date": today - timedelta(days=days_ago),
                    "segment_id": segment.id,
                }
            )

    def _migrate(self, env=None, **values):
        env = env or self.env
        wizard = env["customer.segment.migration"].create(
            {
                "company_id": self.company.id,
                "date_from": self.today - timedelta(days=10),
                "date_to": self.today,
                **values,
            }
        )
        action = wizard.action_compute()
        lines = env["customer.segment.migration.line"].search(action["domain"])
        return {
            line.membership_id: (line.from_segment_id, line.to_segment_id, line.moved)
            for line in lines
        }

    def test_migration_by_hand(self):
        self.assertEqual(
            self._migrate(),
            {
                self.mover: (self.champions, self.at_risk, True),
                self.stayer: (self.loyal, self.loyal, False),
                self.newcomer: (self.env["customer.segment"], self.new, True),
            },
        )

    def test_pivot_counts(self):
        wizard = self.env["customer.segment.migration"].create(
            {
                "company_id": self.company.id,
                "date_from": self.today - timedelta(days=10),
                "date_to": self.today,
            }
        )
        domain = wizard.action_compute()["domain"]
        cells = self.env["customer.segment.migration.line"]._read_group(
            domain, ["from_segment_id", "to_segment_id"], ["__count"]
        )
        self.assertIn((self.champions, self.at_risk, 1), cells)
        # computed again: the same lines, not twice as many
        wizard.action_compute()
        self.assertEqual(len(wizard.line_ids), 3)

    def test_before_all_snapshots(self):
        migration = self._migrate(
            date_from=self.today - timedelta(days=60),
            date_to=self.today - timedelta(days=20),
        )
        self.assertEqual(
            migration,
            {
                self.mover: (self.env["customer.segment"], self.champions, True),
                self.stayer: (self.env["customer.segment"], self.loyal, True),
            },
        )

    def test_salesperson_sees_own_customers(self):
        migration = self._migrate(env=self.env(user=self.salesman))
        self.assertEqual(set(migration), {self.mover.with_user(self.salesman)})

    def test_bad_dates(self):
        with self.assertRaises(UserError):
            self._migrate(date_from=self.today, date_to=self.today - timedelta(days=1))
        with self.assertRaises(UserError):
            self._migrate(date_from=self.today, date_to=self.today)

    def test_lines_written_by_the_wizard_only(self):
        wizard = (
            self.env["customer.segment.migration"]
            .with_user(self.salesman)
            .create(
                {
                    "company_id": self.company.id,
                    "date_from": self.today - timedelta(days=10),
                    "date_to": self.today,
                }
            )
        )
        with self.assertRaises(AccessError):
            self.env["customer.segment.migration.line"].with_user(self.salesman).create(
                {"migration_id": wizard.id, "membership_id": self.stayer.id}
            )
