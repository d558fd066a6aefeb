"""Retention rates by month and the members' demographics, against figures
computed by hand."""

from datetime import date, datetime, timedelta

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from ..models.customer_activity_month import VALUE_COLUMNS
from ..tools.demographics import age, age_band, age_band_sql
from .common import RepeatCustomerCase


@tagged("post_install", "-at_install")
class TestRates(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.loyalty_repeat_days = 30
        cls.salesman = new_test_user(
            cls.env,
            login="rates_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        china = cls.env.ref("base.cn")
        cls.ann = cls._partner(
            "Ann",
            country_id=china.id,
            city="Shanghai",
            gender="female",
            user_id=cls.salesman.id,
        )
        cls.bob = cls._partner(
            "Bob", country_id=cls.env.ref("base.us").id, gender="male"
        )
        cls.cai = cls._partner("Cai", country_id=china.id, city="Hangzhou")
        cls.dan = cls._partner("Dan")
        # Ann comes back within the 30 days, Cai after them, Bob never
        cls._dated(cls.ann, 100.0, datetime(2025, 1, 10, 12))
        cls._dated(cls.ann, 50.0, datetime(2025, 1, 20, 12))
        cls._dated(cls.ann, 60.0, datetime(2025, 3, 5, 12))
        cls._dated(cls.bob, 200.0, datetime(2025, 1, 15, 12))
        cls._dated(cls.bob, 999.0, datetime(2025, 2, 15, 12), state="cancel")
        cls._dated(cls.cai, 80.0, datetime(2025, 2, 1, 12))
        cls._dated(cls.cai, 40.0, datetime(2025, 3, 20, 12))
        # Dan's first order is within the window: not counted yet
        cls._order(cls.dan, 70.0, days_ago=5)
        # another company: Bob's order there is not this company's
        cls.company2 = cls.env["res.company"].create({"name": "Rates Second Co"})
        cls.env.user.company_ids |= cls.company2
        cls._dated(cls.bob, 500.0, datetime(2025, 2, 5, 12), company=cls.company2)
        cls.env.flush_all()
        for company in cls.company | cls.company2:
            cls.env["customer.membership"]._compute_company(company)

    MEASURES = [
        "active_count:sum",
        "new_count:sum",
        "previous_active_count:sum",
        "churned_count:sum",
        "repeat_base_count:sum",
        "repeat_count:sum",
        "order_count:sum",
        "revenue:sum",
        "churn_rate:avg",
        "repeat_rate:avg",
        "average_order_value:avg",
        "purchase_frequency:avg",
    ]

    def _rates(self, groupby=("month:month",), env=None, domain=None, company=None):
        env = env or self.env
        rows = env["customer.activity.month"]._read_group(
            [("company_id", "=", (company or self.company).id), *(domain or [])],
            list(groupby),
            self.MEASURES,
        )
        return {
            tuple(
                key.strftime("%Y-%m") if isinstance(key, date) else key
                for key in row[: len(groupby)]
            ): tuple(
                # Odoo reads an aggregate over no row as False
                None
                if value is False
                else round(value, 2)
                if isinstance(value, float)
                else value
                for value in row[len(groupby) :]
            )
            for row in rows
        }

    def test_rates_by_month_by_hand(self):
        rates = self._rates()
        dan_month = (self.today - timedelta(days=5)).strftime("%Y-%m")
        # active, new, active before, lapsed, base, repeat, orders, revenue,
        # churn %, repeat %, AOV, orders per active member
        self.assertEqual(
            {k: v for k, v in rates.items() if k[0] < "2026"},
            {
                # Ann (2 orders, 150) and Bob (200) start; Ann returned within
                # 30 days, Bob never
                ("2025-01",): (2, 2, 0, 0, 2, 1, 3, 350.0, None, 50.0, 116.67, 1.5),
                # both lapse; Cai starts (her return is 47 days later); Bob's
                # cancelled order does not count
                ("2025-02",): (1, 1, 2, 2, 1, 0, 1, 80.0, 100.0, 0.0, 80.0, 1.0),
                # Ann is back (lapsed the month before: no churn figure), Cai
                # stays
                ("2025-03",): (2, 0, 1, 0, 0, 0, 2, 100.0, 0.0, None, 50.0, 1.0),
                # both lapse; nobody bought in April
                ("2025-04",): (0, 0, 2, 2, 0, 0, 0, 0.0, 100.0, None, None, None),
            },
        )
        # Dan: new, his window still open
        self.assertEqual(rates[(dan_month,)][:7], (1, 1, 0, 0, 0, 0, 1))
        # a period's rate is the ratio of its sums, not an average of months
        (total,) = self._rates(groupby=()).values()
        # Dan lapses in the month after his own when it has come
        lapsed = 4 + rates.get((self.today.strftime("%Y-%m"),), (0,) * 4)[3]
        self.assertEqual(total[3:6], (lapsed, 3, 1))
        # lapsed members over those active the month before
        self.assertEqual(total[8], round(100.0 * lapsed / (lapsed + 1), 2))
        self.assertEqual(total[9], 33.33)  # Ann of Ann, Bob, Cai
        self.assertEqual(total[10], round(600.0 / 7, 2))

    def test_empty_period_has_no_rate(self):
        (total,) = self._rates(
            groupby=(),
            domain=[("month", ">=", "2025-06-01"), ("month", "<", "2025-07-01")],
        ).values()
        self.assertEqual(total[:8], (None,) * 7 + (None,))
        self.assertEqual(total[8:], (None, None, None, None))

    def test_other_company_separate(self):
        rates = self._rates(company=self.company2)
        self.assertEqual(
            rates,
            {
                ("2025-02",): (1, 1, 0, 0, 1, 0, 1, 500.0, None, 0.0, 500.0, 1.0),
                ("2025-03",): (0, 0, 1, 1, 0, 0, 0, 0.0, 100.0, None, None, None),
            },
        )

    def test_by_region_and_gender(self):
        rates = self._rates(groupby=("country_id", "gender"))
        china, usa = self.env.ref("base.cn"), self.env.ref("base.us")
        self.assertEqual(rates[(china, "female")][3:6], (2, 1, 1))
        self.assertEqual(rates[(china, False)][3:6], (1, 1, 0))
        self.assertEqual(rates[(usa, "male")][3:6], (1, 1, 0))
        by_city = self._rates(groupby=("city",))
        # Ann lapsed in February and April, the two months after she bought
        self.assertEqual(by_city[("Shanghai",)][8], 100.0)

    def test_salesperson_sees_own_customers(self):
        rates = self._rates(env=self.env(user=self.salesman))
        self.assertEqual(
            set(rates), {("2025-01",), ("2025-02",), ("2025-03",), ("2025-04",)}
        )
        self.assertEqual(rates[("2025-01",)][:2], (1, 1))

    def test_order_confirmed_updates_the_month(self):
        before = self._rates()[(self.today.strftime("%Y-%m"),)][0]
        self._order(self.cai, 30.0)
        self.env.flush_all()
        after = self._rates()[(self.today.strftime("%Y-%m"),)][0]
        self.assertEqual(after, before + 1)

    def test_recomputed_twice_same_rows(self):
        Activity = self.env["customer.activity.month"]
        before = Activity.search_read(
            [], ["membership_id", "month", "active_count", "revenue"]
        )
        self.env["customer.membership"]._compute_company(self.company)
        after = Activity.search_read(
            [], ["membership_id", "month", "active_count", "revenue"]
        )
        key = lambda r: (r["membership_id"][0], r["month"])  # noqa: E731
        self.assertEqual(
            sorted((key(r), r["active_count"], r["revenue"]) for r in before),
            sorted((key(r), r["active_count"], r["revenue"]) for r in after),
        )

    def test_repeat_window_bounds(self):
        for value in (0, -5, 100000):
            with self.subTest(value=value), self.assertRaises(ValidationError):
                self.company.loyalty_repeat_days = value


@tagged("post_install", "-at_install")
class TestDemographics(RepeatCustomerCase):
    def test_region_and_gender_follow_the_contact(self):
        partner = self._partner("Mei", city="Suzhou", gender="female")
        self._order(partner, 10.0)
        membership = self._membership(partner)
        self.assertEqual((membership.city, membership.gender), ("Suzhou", "female"))
        partner.write({"city": "Nanjing", "country_id": self.env.ref("base.cn").id})
        self.assertEqual(membership.city, "Nanjing")
        self.assertEqual(membership.country_id, self.env.ref("base.cn"))

    def test_age_band_from_the_birthday(self):
        today = self.company._loyalty_today()
        partner = self._partner(
            "Lei", birthdate_date=today.replace(year=today.year - 30)
        )
        self._order(partner, 10.0)
        membership = self._membership(partner)
        self.assertEqual(membership.age_band, "25_34")
        partner.birthdate_date = today.replace(year=today.year - 70)
        self.assertEqual(membership.age_band, "65_plus")
        partner.birthdate_date = False
        self.assertFalse(membership.age_band)

    def test_nightly_moves_a_birthday_into_the_next_band(self):
        today = self.company._loyalty_today()
        partner = self._partner(
            "Ling", birthdate_date=today.replace(year=today.year - 25)
        )
        self._order(partner, 10.0)
        membership = self._membership(partner)
        # as the band was yesterday, the day before the 25th birthday
        self.env.cr.execute(
            "UPDATE customer_membership SET age_band = '18_24' WHERE id = %s",
            [membership.id],
        )
        membership.invalidate_recordset(["age_band"])
        self._compute()
        self.assertEqual(membership.age_band, "25_34")

    def test_sql_and_python_bands_agree(self):
        today = date(2024, 3, 1)
        births = [
            today - timedelta(days=d)
            for d in (0, 1, 365, 6574, 6575, 6576, 9000, 12000, 23725, 23741, 40000)
        ]
        births += [
            date(2000, 2, 29),
            date(2006, 3, 1),
            date(2006, 3, 2),
            today + timedelta(days=1),
        ]
        for birth in births:
            self.env.cr.execute(
                SQL(
                    "SELECT %s",
                    age_band_sql(SQL("%s::date", birth), SQL("%s::date", today)),
                )
            )
            with self.subTest(birth=birth, age=age(birth, today)):
                self.assertEqual(
                    self.env.cr.fetchone()[0] or False, age_band(birth, today)
                )
        self.assertEqual(age(date(2000, 2, 29), date(2025, 2, 28)), 24)
        self.assertEqual(age(date(2000, 2, 29), date(2025, 3, 1)), 25)


@tagged("post_install", "-at_install")
class TestActivityBetweenFullPasses(RepeatCustomerCase):
    def test_members_due_with_the_calendar(self):
        self.company.loyalty_repeat_days = 30
        window, lapse = self._partner("Window Ends"), self._partner("Lapses")
        settled = self._partner("Long Ago")
        self._order(window, 10.0, days_ago=31)
        self._order(lapse, 10.0, days_ago=70)
        self._order(settled, 10.0, days_ago=200)
        self._order(settled, 10.0, days_ago=100)
        self.env.flush_all()
        self._compute()
        Activity = self.env["customer.activity.month"]
        members = self._membership(window) | self._membership(lapse)
        members |= self._membership(settled)
        self.assertFalse(
            Activity._due_ids(self.company, members.ids),
            "rows just brought up to date are due for nothing",
        )
        # the rows as they were at a full pass 80 days ago (the jobs have
        # not run since): the window's end not counted, the lapsed month
        # missing
        self.company.loyalty_stats_full_date = self.today - timedelta(days=80)
        lapse_month = (
            self._membership(lapse).last_order_date.replace(day=1) + timedelta(days=32)
        ).replace(day=1)
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_activity_month SET repeat_base_count = 0
                 WHERE membership_id = %(window)s AND new_count = 1;
                DELETE FROM customer_activity_month
                 WHERE membership_id = %(lapse)s AND month = %(month)s;
                """,
                window=self._membership(window).id,
                lapse=self._membership(lapse).id,
                month=lapse_month,
            )
        )
        self.assertEqual(
            sorted(Activity._due_ids(self.company, members.ids)),
            sorted((self._membership(window) | self._membership(lapse)).ids),
        )
        # a full pass today: what moved more than a week before it is not
        # looked at again (the lapse two months ago), what moved within the
        # week's margin is (the window that ended yesterday)
        self.company.loyalty_stats_full_date = self.today
        self.assertEqual(
            Activity._due_ids(self.company, members.ids),
            self._membership(window).ids,
        )
        self.company.loyalty_stats_full_date = self.today - timedelta(days=80)
        Activity._update_activity(self.company, members.ids)
        self.assertFalse(
            Activity._due_ids(self.company, members.ids), "due once, not every night"
        )
        lapsed = Activity.search(
            [
                ("membership_id", "=", self._membership(lapse).id),
                ("month", "=", lapse_month),
            ]
        )
        self.assertEqual((lapsed.churned_count, lapsed.active_count), (1, 0))

    def test_lapse_row_written_as_the_full_computation_writes_it(self):
        """A month's first nights: the row of the month a member lapses in
        is made from their last purchase month's row, equal to the one the
        computation from their purchases makes; a member without that row
        is recomputed from their purchases instead."""
        partner = self._partner("Lapser")
        self._order(partner, 20.0, days_ago=200)
        self._order(partner, 10.0, days_ago=70)
        self.env.flush_all()
        self._compute()
        member = self._membership(partner)
        Activity = self.env["customer.activity.month"]
        last_month = member.last_order_date.replace(day=1)
        lapse_month = (last_month + timedelta(days=32)).replace(day=1)
        columns = [*VALUE_COLUMNS, "month"]

        def rows():
            Activity.invalidate_model()
            return {
                row["month"]: {c: row[c] for c in columns if c != "company_id"}
                for row in Activity.search_read(
                    [("membership_id", "=", member.id)], columns
                )
            }

        computed = rows()
        self.assertIn(lapse_month, computed)
        self.env.cr.execute(
            "DELETE FROM customer_activity_month WHERE membership_id = %s "
            "AND month = %s",
            [member.id, lapse_month],
        )
        self.company.loyalty_stats_full_date = self.today - timedelta(days=80)
        self.assertEqual(
            Activity._due_ids(self.company, member.ids, split=True),
            (member.ids, []),
        )
        self.assertEqual(
            Activity._write_lapse_rows(self.company, member.ids), member.ids
        )
        self.assertEqual(rows(), computed)
        # without its last purchase month's row, the member is recomputed
        self.env.cr.execute(
            "DELETE FROM customer_activity_month WHERE membership_id = %s "
            "AND month >= %s",
            [member.id, last_month],
        )
        self.assertEqual(Activity._write_lapse_rows(self.company, member.ids), [])
        Activity._advance_with_calendar(self.company, member.ids, [])
        self.assertEqual(rows(), computed)
        self.assertFalse(Activity._due_ids(self.company, member.ids))

    def test_nightly_pass_keeps_the_rows(self):
        self.company.loyalty_repeat_days = 30
        partner = self._partner("Nightly Buyer")
        self._order(partner, 10.0, days_ago=31)
        membership = self._membership(partner)
        Membership = self.env["customer.membership"]
        Membership._compute_company(self.company)
        Activity = self.env["customer.activity.month"]
        rows = Activity.search([("membership_id", "=", membership.id)])
        first = rows.filtered("new_count")
        self.assertEqual(first.repeat_base_count, 1, "its 30 days have passed")
        # as the row was the night before the window ended
        self.env.cr.execute(
            "UPDATE customer_activity_month SET repeat_base_count = 0 WHERE id = %s",
            [first.id],
        )
        Activity.invalidate_model()
        Membership._compute_company(self.company, nightly=True)
        self.assertEqual(first.repeat_base_count, 1)
