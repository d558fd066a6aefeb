import csv
import importlib.util
import math
from pathlib import Path

import numpy as np

from odoo.tests import TransactionCase, tagged

from ..tools import bgnbd
from .common import RepeatCustomerCase


def _cdnow_summary():
    """The CDNOW summary sample (2357 customers, in weeks) shipped with the
    ``lifetimes`` package listed in requirements-test.txt (read as data only)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise AssertionError(
            "the 'lifetimes' package (requirements-test.txt) is needed for the "
            "CDNOW reference data"
        )
    path = Path(spec.submodule_search_locations[0], "datasets")
    with open(path / "cdnow_customers_summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return (
        np.array([float(r["frequency"]) for r in rows]),
        np.array([float(r["recency"]) for r in rows]),
        np.array([float(r["T"]) for r in rows]),
    )


@tagged("post_install", "-at_install")
class TestBgNbd(TransactionCase):
    def test_cdnow_reference_fit(self):
        """Fader, Hardie & Lee (2005): r=0.243, alpha=4.414, a=0.793, b=2.426."""
        frequency, recency, age = _cdnow_summary()
        self.assertEqual(len(frequency), 2357)
        params = bgnbd.fit(frequency, recency, age)
        published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        for name, value in published.items():
            got = getattr(params, name)
            self.assertLess(
                abs(got - value) / value, 0.01, f"{name}={got} vs published {value}"
            )
        log_likelihood = bgnbd.log_likelihood(params, frequency, recency, age)
        self.assertAlmostEqual(log_likelihood, -9582.4, delta=1.0)

    def test_probability_alive_by_hand(self):
        params = bgnbd.BgNbdParams(r=0.5, alpha=2.0, a=0.8, b=2.0)
        # no repeat purchase: alive for sure
        self.assertEqual(bgnbd.probability_alive(params, [0], [0], [10])[0], 1.0)
        # x=2, t_x=4, T=10: 1 / (1 + a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x))
        expected = 1 / (1 + 0.8 / 3.0 * (12.0 / 6.0) ** 2.5)
        got = bgnbd.probability_alive(params, [2], [4], [10])[0]
        self.assertAlmostEqual(got, expected, places=9)

    def test_expected_purchases_paper_example(self):
        """The paper's customer with x=2, t_x=30.43, T=38.86 expects about
        1.226 purchases in the next 39 weeks under the CDNOW parameters."""
        params = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
        got = bgnbd.expected_purchases(params, 39, [2], [30.43], [38.86])[0]
        self.assertAlmostEqual(got, 1.226, delta=0.01)

    def test_bad_inputs(self):
        for frequency, recency, age in (
            ([], [], []),
            ([1], [5], [3]),
            ([-1], [0], [3]),
            ([1, 2], [1], [3]),
            ([float("nan")], [1], [3]),
        ):
            with self.assertRaises(ValueError):
                bgnbd.fit(frequency, recency, age)


@tagged("post_install", "-at_install")
class TestChurn(RepeatCustomerCase):
    def test_churn_on_members(self):
        regulars = []
        for index in range(8):
            partner = self._partner(f"Regular {index}")
            for week in range(10):
                self._order(partner, 20.0, days_ago=7 * week + index)
            regulars.append(partner)
        lapsed = []
        for index in range(6):
            partner = self._partner(f"Lapsed {index}")
            for week in range(10):
                self._order(partner, 20.0, days_ago=300 + 7 * week + index)
            lapsed.append(partner)
        one_off = self._partner("One-off")
        self._order(one_off, 20.0, days_ago=200)
        self._compute()

        params = self.company.loyalty_bgnbd_params
        self.assertEqual(set(params), {"r", "alpha", "a", "b"})
        regular = self._membership(regulars[0])
        gone = self._membership(lapsed[0])
        single = self._membership(one_off)
        for membership in (regular, gone, single):
            self.assertTrue(0.0 <= membership.churn_probability <= 1.0)
            self.assertGreaterEqual(membership.expected_purchases_90d, 0.0)
        self.assertEqual(single.churn_probability, 0.0, "BG/NBD: no repeat, alive")
        self.assertLess(regular.churn_probability, gone.churn_probability)
        self.assertGreater(regular.expected_purchases_90d, gone.expected_purchases_90d)
        # risk follows the thresholds
        medium = self.company.loyalty_churn_medium_threshold
        high = self.company.loyalty_churn_high_threshold
        for membership in self.Membership.search(
            [("company_id", "=", self.company.id)]
        ):
            p = membership.churn_probability
            want = "high" if p >= high else "medium" if p >= medium else "low"
            self.assertEqual(membership.churn_risk, want)
        self.assertEqual(regular.churn_risk, "low")
        self.assertEqual(gone.churn_risk, "high")
        # the stored probability is the model's, recomputed by hand
        model = bgnbd.BgNbdParams(**params)
        x = gone.purchase_day_count - 1
        t_x = (gone.last_order_date - gone.first_order_date).days / 7
        age = (self.today - gone.first_order_date).days / 7
        alive = bgnbd.probability_alive(model, [x], [t_x], [age])[0]
        # stored to the percent
        self.assertTrue(math.isclose(gone.churn_probability, 1 - alive, abs_tol=5e-3))

    def test_fit_on_a_sample(self):
        """Big companies fit the model on an evenly spread sample of members."""
        for index in range(30):
            partner = self._partner(f"Sampled {index}")
            for week in range(index % 5 + 1):
                self._order(partner, 20.0, days_ago=9 * week + 3 * index)
        self._compute()
        full = self.Membership._fit_churn_model(self.company)
        sampled = self.Membership._fit_churn_model(self.company, sample_size=15)
        self.assertEqual(set(sampled), {"r", "alpha", "a", "b"})
        self.assertNotEqual(sampled, full, "a sample of about half the members")

    def test_too_few_members_no_churn(self):
        partner = self._partner("Lonely")
        self._order(partner, 20.0, days_ago=10)
        self._order(partner, 20.0, days_ago=40)
        self._compute()
        membership = self._membership(partner)
        self.assertFalse(self.company.loyalty_bgnbd_params)
        self.assertFalse(membership.churn_risk)
        self.assertTrue(membership.rfm_score, "RFM does not need the churn model")
