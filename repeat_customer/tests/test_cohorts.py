"""Cohort retention, against figures computed by hand."""

from datetime import date, datetime

from odoo import Command
from odoo.tests import new_test_user, tagged

from .common import RepeatCustomerCase


@tagged("post_install", "-at_install")
class TestCohorts(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = new_test_user(
            cls.env,
            login="cohort_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        # a company customer whose contact orders once, with its own orders
        cls.shop = cls._partner("Tea Shop", is_company=True, user_id=cls.salesman.id)
        cls.buyer = cls._partner("Tea Shop Buyer", parent_id=cls.shop.id)
        cls.once = cls._partner("One Order")
        cls.late = cls._partner("Late Starter")
        cls._dated(cls.shop, 100.0, datetime(2025, 1, 10, 12))
        cls._dated(cls.shop, 50.0, datetime(2025, 1, 25, 12))
        cls._dated(cls.buyer, 30.0, datetime(2025, 2, 3, 12))
        cls._dated(cls.shop, 20.0, datetime(2025, 4, 30, 12))
        cls._dated(cls.once, 200.0, datetime(2025, 1, 31, 12))
        cls._dated(cls.late, 80.0, datetime(2025, 2, 14, 12))
        cls._dated(cls.late, 999.0, datetime(2025, 3, 14, 12), state="cancel")
        cls._dated(cls.late, 40.0, datetime(2025, 4, 2, 12))
        # another company: its own cohorts
        cls.company2 = cls.env["res.company"].create(
            {"name": "Cohort Second Co", "currency_id": cls.env.ref("base.EUR").id}
        )
        cls.env.user.company_ids |= cls.company2
        cls._dated(cls.once, 500.0, datetime(2025, 1, 5, 12), company=cls.company2)
        cls._refresh()

    @classmethod
    def _refresh(cls):
        """The nightly computation: orders dated after their confirmation
        reach the monthly activity then."""
        cls.env.flush_all()
        for company in cls.company | cls.company2:
            cls.env["customer.membership"]._compute_company(company)

    def _cells(self, env=None, company=None):
        env = env or self.env
        groups = env["customer.cohort"]._read_group(
            [("company_id", "=", (company or self.company).id)],
            ["cohort_month:month", "months_since"],
            ["__count", "retention:sum", "revenue:sum", "revenue_per_member:sum"],
        )
        return {
            (cohort.strftime("%Y-%m"), since): (
                count,
                round(share, 1),
                round(revenue, 2),
                round(per_member, 2),
            )
            for cohort, since, count, share, revenue, per_member in groups
        }

    def test_cohort_cells_by_hand(self):
        self.env.flush_all()
        # January: the shop (150 in January, 30 in February by its contact,
        # 20 in April) and the one-order customer (200): two members.
        # February: the late starter (80, then 40 in April; the cancelled
        # March order does not count). No row for a month nobody bought.
        self.assertEqual(
            self._cells(),
            {
                ("2025-01", 0): (2, 100.0, 350.0, 175.0),
                ("2025-01", 1): (1, 50.0, 30.0, 15.0),
                ("2025-01", 3): (1, 50.0, 20.0, 10.0),
                ("2025-02", 0): (1, 100.0, 80.0, 80.0),
                ("2025-02", 2): (1, 100.0, 40.0, 40.0),
            },
        )
        self.assertEqual(
            self._cells(company=self.company2),
            {("2025-01", 0): (1, 100.0, 500.0, 500.0)},
        )

    def test_totals_are_rates_of_the_cohorts_not_sums(self):
        """The Total row of months since k: buyers at k over the members of
        the cohorts that have lived k months; a cohort's total: its buyers
        over its size times the months it has lived."""
        self.env.flush_all()
        today = self.company._loyalty_today()
        lived = {
            cohort: (today.year - cohort.year) * 12 + today.month - cohort.month
            for cohort in (date(2025, 1, 1), date(2025, 2, 1))
        }
        Cohort = self.env["customer.cohort"]
        domain = [("company_id", "=", self.company.id)]
        totals = {
            since: (count, round(share, 1), round(per_member, 2))
            for since, count, share, per_member in Cohort._read_group(
                domain,
                ["months_since"],
                ["__count", "retention:sum", "revenue_per_member:sum"],
            )
        }
        # January: 2 members, February: 1; both have lived 3 months and more
        self.assertEqual(
            totals,
            {
                0: (3, 100.0, round(430 / 3, 2)),
                1: (1, round(100 / 3, 1), 10.0),
                2: (1, round(100 / 3, 1), round(40 / 3, 2)),
                3: (1, round(100 / 3, 1), round(20 / 3, 2)),
            },
        )
        january = date(2025, 1, 1)
        [(_cohort, count, share)] = Cohort._read_group(
            [*domain, ("cohort_month", "=", january)],
            ["cohort_month:month"],
            ["__count", "retention:sum"],
        )
        self.assertEqual(count, 4)
        self.assertAlmostEqual(share, 100.0 * 4 / (2 * (lived[january] + 1)))
        [(count, share)] = Cohort._read_group(domain, [], ["__count", "retention:sum"])
        members = 2 * (lived[january] + 1) + 1 * (lived[date(2025, 2, 1)] + 1)
        self.assertAlmostEqual(share, 100.0 * 6 / members)
        # the web client's read_group (the pivot) gets the same
        [group] = Cohort.read_group(
            [*domain, ("months_since", "=", 1)], ["retention:sum"], ["months_since"]
        )
        self.assertAlmostEqual(group["retention"], 100 / 3)
        # a cohort younger than k months is not counted at k: a new member
        # this month joins the denominators of month 0 only
        fresh = self._partner("Fresh Member")
        self._dated(fresh, 10.0, datetime.combine(today, datetime.min.time()))
        self._refresh()
        self.env.flush_all()
        totals = {
            since: round(share, 1)
            for since, share in Cohort._read_group(
                domain, ["months_since"], ["retention:sum"]
            )
        }
        self.assertEqual(totals[0], 100.0)
        self.assertEqual(totals[1], round(100 / 3, 1))

    def test_months_in_the_company_time_zone(self):
        # 31 January 20:00 UTC is already February in Shanghai
        self.company.partner_id.tz = "Asia/Shanghai"
        once = self.env["customer.cohort"].search(
            [("membership_id", "=", self._membership(self.once).id)]
        )
        self.assertEqual(once.cohort_month.strftime("%Y-%m"), "2025-01")
        self.once.sale_order_ids.filtered(
            lambda o: o.company_id == self.company
        ).date_order = datetime(2025, 1, 31, 20)
        self._refresh()
        self.env["customer.cohort"].invalidate_model()
        once = self.env["customer.cohort"].search(
            [("membership_id", "=", self._membership(self.once).id)]
        )
        self.assertEqual(once.cohort_month.strftime("%Y-%m"), "2025-02")

    def test_salesperson_sees_own_customers(self):
        self.env.flush_all()
        cells = self._cells(env=self.env(user=self.salesman))
        # only the shop's rows; its share stays that of the whole cohort
        self.assertEqual(
            cells,
            {
                ("2025-01", 0): (1, 50.0, 150.0, 75.0),
                ("2025-01", 1): (1, 50.0, 30.0, 15.0),
                ("2025-01", 3): (1, 50.0, 20.0, 10.0),
            },
        )
        # her Total row: her customers' buyers over the whole cohorts they
        # belong to (January: 2 members), month by month
        totals = {
            since: round(share, 1)
            for since, share in self.env(user=self.salesman)[
                "customer.cohort"
            ]._read_group(
                [("company_id", "=", self.company.id)],
                ["months_since"],
                ["retention:sum"],
            )
        }
        self.assertEqual(totals, {0: 50.0, 1: 50.0, 3: 50.0})
