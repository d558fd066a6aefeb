"""Predicted customer lifetime value: the Gamma-Gamma spend model, its
reference fit, the discounting, and the figures of the members."""

import csv
import importlib.util
from pathlib import Path

import numpy as np

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from ..models.customer_membership_churn import DAYS_PER_PERIOD
from ..tools import bgnbd, gammagamma
from ..tools.scoring import DAYS_PER_MONTH
from .common import RepeatCustomerCase


def _cdnow_with_values():
    """The CDNOW sample with the average value of each customer's repeat
    purchases (``zbar``), shipped with ``lifetimes`` (read as data only)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise AssertionError("the 'lifetimes' package (requirements-test.txt)")
    path = Path(spec.submodule_search_locations[0], "datasets")
    with open(
        path / "cdnow_customers_summary_with_transactions.csv", newline=""
    ) as handle:
        rows = list(csv.DictReader(handle))
    return (
        np.array([float(r["x"]) for r in rows]),
        np.array([float(r["zbar"]) for r in rows]),
    )


@tagged("post_install", "-at_install")
class TestGammaGamma(TransactionCase):
    def test_cdnow_reference_fit(self):
        """Fader, Hardie & Lee, "RFM and CLV" (2005): p = 6.25, q = 3.74,
        v = 15.44 on the 946 CDNOW customers with a repeat purchase."""
        frequency, value = _cdnow_with_values()
        self.assertEqual(int((frequency > 0).sum()), 946)
        params = gammagamma.fit(frequency, value)
        for name, published in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
            got = getattr(params, name)
            self.assertLess(
                abs(got - published) / published,
                0.01,
                f"{name}={got} vs published {published}",
            )
        # the paper's mean spend of the population: p v / (q - 1) = 35.17
        population = gammagamma.conditional_expected_value(params, [0], [0])[0]
        self.assertAlmostEqual(population, 6.25 * 15.44 / 2.74, delta=0.2)

    def test_expected_value_by_hand(self):
        params = gammagamma.GammaGammaParams(2.0, 3.0, 10.0)
        # 2 x (10 + 4 x 20) / (2 x 4 + 3 - 1) = 180 / 10
        got = gammagamma.conditional_expected_value(params, [4, 0], [20.0, 50.0])
        self.assertAlmostEqual(got[0], 18.0)
        # no repeat purchase: the population mean, 2 x 10 / 2
        self.assertAlmostEqual(got[1], 10.0)

    def test_discounting_by_hand(self):
        # two purchases a period, worth 10 each, 10 % a period, 3 periods
        value = gammagamma.customer_lifetime_value(
            lambda t: np.array([2.0 * t]), np.array([10.0]), 3, 1.0, 0.1
        )
        self.assertAlmostEqual(value[0], 20 / 1.1 + 20 / 1.21 + 20 / 1.331)

    def test_bad_inputs(self):
        with self.assertRaises(ValueError):
            gammagamma.fit([1], [10.0])
        with self.assertRaises(ValueError):
            gammagamma.fit([1, 2], [10.0, -1.0])
        with self.assertRaises(ValueError):
            gammagamma.fit([1, 2], [10.0])
        with self.assertRaises(ValueError):
            gammagamma.fit([1, float("nan")], [10.0, 12.0])
        with self.assertRaises(ValueError):
            gammagamma.fit([1, 2], [10.0, 12.0], penalizer=-1)
        with self.assertRaises(ValueError):
            gammagamma.conditional_expected_value(
                gammagamma.GammaGammaParams(1.0, 1.0, 1.0), [1], [1.0]
            )
        with self.assertRaises(ValueError):
            gammagamma.customer_lifetime_value(
                lambda t: np.zeros(1), np.ones(1), 3, 0.0, 0.1
            )


@tagged("post_install", "-at_install")
class TestMemberLifetimeValue(RepeatCustomerCase):
    def test_members_get_their_value(self):
        rng = np.random.default_rng(5)

        def buyer(name, basket, days_ago):
            partner = self._partner(name)
            for day in days_ago:
                amount = round(float(basket * rng.uniform(0.5, 1.5)), 2)
                self._order(partner, amount, days_ago=day)
            return partner

        # regulars buying weekly, customers who stopped long ago, occasional
        # buyers and a one-off buyer, each with a basket of their own
        regulars = [
            buyer(f"Regular {i}", 20.0 + 10.0 * i, [7 * w + i for w in range(10)])
            for i in range(8)
        ]
        lapsed = [
            buyer(
                f"Lapsed {i}",
                25.0 + 10.0 * (i % 4),
                [300 + 7 * w + i for w in range(10)],
            )
            for i in range(6)
        ]
        occasional = [
            buyer(
                f"Occasional {i}",
                30.0 + 15.0 * (i % 3),
                [10 + i + 30 * w for w in range(2 + i % 4)],
            )
            for i in range(8)
        ]
        one_off = buyer("One-off", 40.0, [30])
        partners = [*regulars, *occasional, *lapsed]
        self.company.write({"loyalty_clv_months": 6, "loyalty_clv_discount_rate": 12})
        self._compute()

        spend = self.company.loyalty_gamma_gamma_params
        self.assertEqual(set(spend), {"p", "q", "v"})
        churn = self.company.loyalty_bgnbd_params
        today = self.company._loyalty_today()
        for partner in [regulars[0], regulars[7], occasional[3], lapsed[0], one_off]:
            member = self._membership(partner)
            with self.subTest(member=partner.name):
                x = member.purchase_day_count - 1
                # m: the mean of the repeat purchase days, by hand from the
                # orders (a day's orders added up, the first day left out)
                days = {}
                for order in self.env["sale.order"].search(
                    [("partner_id", "=", partner.id), ("state", "=", "sale")]
                ):
                    day = order.date_order.date()
                    days[day] = days.get(day, 0.0) + order.amount_untaxed
                repeat = [amount for day, amount in days.items() if day > min(days)]
                m = sum(repeat) / len(repeat) if repeat else 0.0
                self.assertEqual(len(repeat), x)
                self.assertAlmostEqual(member.repeat_order_value, m, places=2)
                p, q, v = spend["p"], spend["q"], spend["v"]
                expected_value = p * (v + x * m) / (p * x + q - 1)
                self.assertAlmostEqual(
                    member.expected_order_value, expected_value, places=2
                )
                # six months of expected purchases, discounted monthly
                model = bgnbd.BgNbdParams(**churn)
                age = (today - member.first_order_date).days / DAYS_PER_PERIOD
                recency = (
                    member.last_order_date - member.first_order_date
                ).days / DAYS_PER_PERIOD
                monthly = 1.12 ** (1 / 12) - 1
                month = DAYS_PER_MONTH / DAYS_PER_PERIOD
                total, before = 0.0, 0.0
                for i in range(1, 7):
                    upto = bgnbd.expected_purchases(
                        model, i * month, [x], [recency], [age]
                    )[0]
                    total += expected_value * (upto - before) / (1 + monthly) ** i
                    before = upto
                self.assertAlmostEqual(member.clv, total, places=2)
        # a regular is worth more than a one-off buyer, who is worth more
        # than a customer who stopped buying
        self.assertGreater(
            self._membership(regulars[7]).clv, self._membership(one_off).clv
        )
        self.assertGreater(
            self._membership(one_off).clv, self._membership(lapsed[0]).clv
        )
        self.assertEqual(len(partners), 22)

    def test_settings_bounds(self):
        for vals in (
            {"loyalty_clv_months": 0},
            {"loyalty_clv_months": 500},
            {"loyalty_clv_discount_rate": -1},
            {"loyalty_clv_discount_rate": 150},
        ):
            with self.subTest(vals=vals), self.assertRaises(ValidationError):
                self.company.write(vals)


def _cdnow_transactions(until="19970930"):
    """The raw CDNOW sample shipped with ``lifetimes`` (read as data only):
    (customer, day, amount) of each transaction up to ``until``, the end of
    the paper's 39-week calibration period."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise AssertionError("the 'lifetimes' package (requirements-test.txt)")
    path = Path(spec.submodule_search_locations[0], "datasets", "CDNOW_sample.txt")
    rows = []
    with open(path) as handle:
        for line in handle:
            customer, _id, day, _quantity, amount = line.split()
            if day <= until:
                rows.append((customer, f"{day[:4]}-{day[4:6]}-{day[6:]}", amount))
    return rows


@tagged("post_install", "-at_install")
class TestSpendModelFromTransactions(RepeatCustomerCase):
    """Item 12 of issue 26: the Gamma-Gamma model takes m, the mean value of
    the repeat purchases (a day's orders added up, the first day left out),
    in fitting and scoring. From the raw transactions of the CDNOW sample,
    turned into orders of members, the addon's own path (the purchase
    statistics, the churn inputs, the fit) reproduces the published
    p = 6.25, q = 3.74, v = 15.44 (Fader, Hardie & Lee 2005, 946 customers
    with a repeat purchase in the calibration period)."""

    def _load(self, rows):
        """One member per customer and one confirmed order per transaction,
        written in bulk (thousands of orders through the ORM would take
        minutes): the columns the purchase statistics read."""
        customers = sorted({customer for customer, _day, _amount in rows})
        partners = self.env["res.partner"].create(
            [{"name": f"CDNOW {customer}"} for customer in customers]
        )
        members = self.Membership.create(
            [{"partner_id": p.id, "company_id": self.company.id} for p in partners]
        )
        partner_of = dict(zip(customers, partners.ids, strict=True))
        self.env.flush_all()
        company, currency, uid = (
            self.company.id,
            self.company.currency_id.id,
            self.env.uid,
        )
        # Inventory's sale_stock (with Point of Sale) adds a required column
        stock = "picking_policy" in self.env["sale.order"]._fields
        policy_column = ", picking_policy" if stock else ""
        policy_value = ", 'direct'" if stock else ""
        self.env.cr.execute_values(
            f"""
            INSERT INTO sale_order (
                name, company_id, partner_id, partner_invoice_id,
                partner_shipping_id, currency_id, state, date_order,
                currency_rate, amount_untaxed, amount_tax, amount_total,
                locked, require_signature, require_payment, prepayment_percent,
                create_uid, write_uid, create_date, write_date{policy_column})
            SELECT 'CDNOW' || v.n, {company:d}, v.partner, v.partner, v.partner,
                   {currency:d}, 'sale', v.day::timestamp + interval '12 hours',
                   1.0, v.amount::numeric, 0, v.amount::numeric,
                   FALSE, FALSE, FALSE, 1.0, {uid:d}, {uid:d},
                   now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'{policy_value}
              FROM (VALUES %s) AS v(n, partner, day, amount)
            """,
            [
                (index, partner_of[customer], day, amount)
                for index, (customer, day, amount) in enumerate(rows)
            ],
            page_size=2000,
        )
        self.env.invalidate_all()
        return members, dict(zip(customers, members, strict=True))

    def test_cdnow_fit_from_the_orders(self):
        rows = _cdnow_transactions()
        members, member_of = self._load(rows)
        Membership = self.Membership
        Membership._update_statistics(self.company, members.ids)
        # customer 00004: 29.33 on 1 January, 29.73 on 18 January, 14.96 on
        # 2 August 1997; m = (29.73 + 14.96) / 2, the basket (29.33 + 29.73 +
        # 14.96) / 3
        first = member_of["00004"]
        self.assertEqual(first.purchase_day_count, 3)
        self.assertAlmostEqual(first.repeat_order_value, 22.345, places=2)
        self.assertAlmostEqual(first.average_order_value, 24.673, places=2)
        # a customer with two orders on one day: the day counts once, summed
        days = {}
        for customer, day, amount in rows:
            days.setdefault(customer, {}).setdefault(day, []).append(float(amount))
        customer, by_day = next(
            (c, d)
            for c, d in sorted(days.items())
            if len(d) > 1 and any(len(v) > 1 for k, v in d.items() if k > min(d))
        )
        repeat = [sum(v) for k, v in sorted(by_day.items()) if k > min(by_day)]
        self.assertAlmostEqual(
            member_of[customer].repeat_order_value,
            sum(repeat) / len(repeat),
            places=2,
        )
        _ids, frequency, _recency, _age, value = Membership._churn_inputs(
            self.company, SQL("TRUE"), with_value=True
        )
        self.assertEqual(len(frequency), 2357)
        self.assertEqual(int((frequency > 0).sum()), 946)
        params = Membership._fit_spend_model(self.company, frequency, value)
        for name, published in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
            got = params[name]
            self.assertLess(
                abs(got - published) / published,
                0.005,
                f"{name}={got} vs published {published}",
            )
        self.assertEqual(self.company.loyalty_gamma_gamma_params, params)
