from collections import defaultdict
from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import new_test_user, tagged

from .common import RepeatCustomerCase, run_until_done


@tagged("post_install", "-at_install")
class TestSegmentSizes(RepeatCustomerCase):
    """Segment and tier sizes per day (issue 10, item 10): how many members
    each segment holds, not how many moved."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "loyalty_rfm_method": "threshold",
                "loyalty_rfm_recency_thresholds": "30,90,180,365",
                "loyalty_rfm_frequency_thresholds": "2,3,5,10",
            }
        )
        cls.champion = cls._partner("Champion")
        for n in range(10):
            cls._order(cls.champion, 10.0, days_ago=1 + n)
        cls.newcomers = [cls._partner(f"Newcomer {i}") for i in range(3)]
        for partner in cls.newcomers:
            cls._order(partner, 10.0, days_ago=2)
        cls.silver = cls.env["customer.tier"].create(
            {"name": "Silver", "company_id": cls.company.id, "threshold": 500.0}
        )
        cls.gold = cls.env["customer.tier"].create(
            {"name": "Gold", "company_id": cls.company.id, "threshold": 2000.0}
        )

    def _sizes(self, day, kind="segment"):
        rows = self.env["customer.segment.size"].search(
            [
                ("company_id", "=", self.company.id),
                ("date", "=", day),
                ("kind", "=", kind),
            ]
        )
        key = "segment_id" if kind == "segment" else "tier_id"
        return {row[key].name: row.member_count for row in rows}

    def _run_on(self, day, cron=False):
        with freeze_time(fields.Date.to_string(day) + " 12:00:00"):
            if cron:
                run_until_done(self.env["customer.membership"]._cron_compute_customers)
            else:
                self._compute()

    def test_sizes_per_day_week_and_month(self):
        segment = self.env.ref
        day1, day2, day3 = (self.today + timedelta(days=n) for n in range(3))
        self._run_on(day1)
        champions = segment("repeat_customer.segment_champions").name
        new = segment("repeat_customer.segment_new").name
        potential = segment("repeat_customer.segment_potential_loyalist").name
        sizes = self._sizes(day1)
        self.assertEqual(len(sizes), 11, "every segment, empty ones with 0")
        self.assertEqual(sizes[champions], 1)
        self.assertEqual(sizes[new], 3)
        self.assertEqual(sizes[potential], 0)
        self.assertEqual(sum(sizes.values()), 4)
        # tiers: one Gold member, one Silver member, nobody else
        self._membership(self.champion).sudo().tier_id = self.gold
        self._membership(self.newcomers[0]).sudo().tier_id = self.silver
        self.env["customer.segment.size"]._record_sizes(self.company, day1)
        self.assertEqual(self._sizes(day1, "tier"), {"Silver": 1, "Gold": 1})
        # day 2: one order is worth F2, the newcomers become potential loyalists
        self.company.loyalty_rfm_frequency_thresholds = "1,3,5,10"
        self._run_on(day2)
        sizes = self._sizes(day2)
        self.assertEqual((sizes[champions], sizes[new], sizes[potential]), (1, 0, 3))
        # day 3, through the nightly cron: nobody moves, the sizes stay
        self._membership(self.newcomers[0]).sudo().tier_id = self.gold
        self._run_on(day3, cron=True)
        sizes = self._sizes(day3)
        self.assertEqual((sizes[champions], sizes[new], sizes[potential]), (1, 0, 3))
        self.assertEqual(self._sizes(day3, "tier"), {"Silver": 0, "Gold": 2})
        # a second run the same night replaces that night's figures
        self._run_on(day3)
        self.assertEqual(len(self._sizes(day3)), 11)
        # by week and by month: the average of the nights, computed by hand
        nights = {day1: 3, day2: 0, day3: 0}
        for interval, key in (("week", "%G-W%V"), ("month", "%Y-%m")):
            expected = defaultdict(list)
            for day, count in nights.items():
                expected[day.strftime(key)].append(count)
            groups = self.env["customer.segment.size"]._read_group(
                [
                    ("company_id", "=", self.company.id),
                    ("segment_id.code", "=", "new"),
                ],
                [f"date:{interval}"],
                ["member_count:avg"],
            )
            self.assertEqual(
                sorted(avg for _period, avg in groups),
                sorted(sum(v) / len(v) for v in expected.values()),
            )

    def test_salesperson_reads_own_company_only(self):
        self._compute()
        other = self.env["res.company"].create({"name": "Elsewhere"})
        self.env["customer.segment.size"]._record_sizes(other)
        salesperson = new_test_user(
            self.env,
            login="rc_sizes_sales",
            groups="sales_team.group_sale_salesman",
            company_id=self.company.id,
            company_ids=[(6, 0, self.company.ids)],
        )
        sizes = self.env["customer.segment.size"].with_user(salesperson)
        self.assertEqual(sizes.search([]).company_id, self.company)
        self.assertTrue(
            self.env["customer.segment.size"].search([]).company_id > self.company
        )
