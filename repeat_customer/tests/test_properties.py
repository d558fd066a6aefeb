"""Property-based tests (hypothesis) of the pure logic: points and their
rounding, expiry dates across policies and leap years, RFM scores with ties,
tier decisions and BG/NBD on degenerate data. No database."""

import calendar
import itertools
import math
from datetime import date, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo.tests import BaseCase, tagged

from ..tools import bgnbd, scoring
from ..tools.points import expiry_date, order_points, round_points
from ..tools.tiers import tier_move

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ROUNDINGS = st.sampled_from(["down", "half", "up"])
AMOUNTS = st.floats(min_value=-1e6, max_value=1e7, allow_nan=False)
DAYS = st.dates(min_value=date(1999, 1, 1), max_value=date(2101, 12, 31))
EMPTY_PROGRAMME = {
    "excluded_products": (),
    "excluded_categs": (),
    "category_rules": (),
    "other_rules": (),
}


@st.composite
def programmes(draw):
    """A programme of excluded products/categories and bonus rules over
    categories 1..6 and products 1..6."""
    return {
        "excluded_products": tuple(draw(st.sets(st.integers(1, 6), max_size=2))),
        "excluded_categs": tuple(draw(st.sets(st.integers(1, 6), max_size=2))),
        "category_rules": tuple(
            (100 + i, categ, mult)
            for i, (categ, mult) in enumerate(
                draw(
                    st.lists(
                        st.tuples(st.integers(1, 6), st.floats(1.0, 5.0)), max_size=3
                    )
                )
            )
        ),
        "other_rules": tuple(
            (200 + i, kind, start, start + timedelta(days=length), factor)
            for i, (kind, start, length, factor) in enumerate(
                draw(
                    st.lists(
                        st.tuples(
                            st.sampled_from(["period", "birthday"]),
                            DAYS,
                            st.integers(0, 60),
                            st.floats(1.0, 3.0),
                        ),
                        max_size=2,
                    )
                )
            )
        ),
    }


LINES = st.lists(
    st.tuples(
        st.integers(1, 6),
        st.lists(st.integers(1, 6), min_size=1, max_size=3).map(
            lambda path: "/".join(map(str, path))
        ),
        st.floats(min_value=-500, max_value=5000, allow_nan=False),
    ),
    max_size=6,
)


@tagged("post_install", "-at_install")
class TestPointsProperties(BaseCase):
    @PROPERTY_SETTINGS
    @given(raw=st.floats(min_value=0, max_value=1e9, allow_nan=False))
    def test_rounding_brackets_the_raw_points(self, raw):
        down, half, up = (round_points(raw, r) for r in ("down", "half", "up"))
        self.assertLessEqual(down, half)
        self.assertLessEqual(half, up)
        self.assertIn(up - down, (0, 1))
        self.assertLessEqual(down, raw + 1e-6)
        self.assertGreaterEqual(up, raw - 1e-6)
        if raw == int(raw):
            self.assertEqual((down, half, up), (int(raw), int(raw), int(raw)))

    @PROPERTY_SETTINGS
    @given(
        cents=st.integers(min_value=0, max_value=10**9),
        rounding=ROUNDINGS,
    )
    def test_whole_amounts_of_cents_round_as_decimals(self, cents, rounding):
        """1234.56 is 1234 (down), 1235 (half, up) even though it is not
        exactly representable."""
        raw = cents / 100
        whole, rest = divmod(cents, 100)
        expected = {
            "down": whole,
            "half": whole + (rest >= 50),
            "up": whole + (rest > 0),
        }[rounding]
        self.assertEqual(round_points(raw, rounding), expected)

    @PROPERTY_SETTINGS
    @given(
        lines=LINES,
        programme=programmes(),
        day=DAYS,
        birthday=st.none() | DAYS,
        tier=st.floats(1.0, 3.0),
        per_unit=st.floats(0.0, 100.0),
        rounding=ROUNDINGS,
        rate=st.floats(0.01, 100.0),
    )
    def test_order_points(
        self, lines, programme, day, birthday, tier, per_unit, rounding, rate
    ):
        earned = order_points(
            lines, rate, programme, day, tier, birthday, per_unit, rounding
        )
        self.assertIsInstance(earned.points, int)
        self.assertGreaterEqual(earned.points, 0)
        self.assertGreaterEqual(earned.multiplier, tier - 1e-12)
        self.assertEqual(earned.rule_ids, sorted(set(earned.rule_ids)))
        # the points follow from the base and the multiplier
        self.assertEqual(
            earned.points,
            round_points(
                max(earned.base, 0.0) * per_unit * earned.multiplier, rounding
            ),
        )
        # an excluded line changes nothing
        if programme["excluded_products"]:
            extra = (programme["excluded_products"][0], "1", 999.0)
            again = order_points(
                [*lines, extra],
                rate,
                programme,
                day,
                tier,
                birthday,
                per_unit,
                rounding,
            )
            self.assertEqual(again.points, earned.points)
        # one more line bought never lowers the points
        more = order_points(
            [*lines, (7, "7", 50.0)],
            rate,
            programme,
            day,
            tier,
            birthday,
            per_unit,
            rounding,
        )
        self.assertGreaterEqual(more.points, earned.points)

    @PROPERTY_SETTINGS
    @given(lines=LINES, rounding=ROUNDINGS)
    def test_no_rules_is_the_untaxed_amount(self, lines, rounding):
        earned = order_points(
            lines, 1.0, EMPTY_PROGRAMME, date(2026, 1, 1), 1.0, None, 1.0, rounding
        )
        total = sum(subtotal for _p, _c, subtotal in lines)
        self.assertAlmostEqual(earned.base, total, places=6)
        self.assertEqual(earned.rule_ids, [])
        if total <= 0:
            self.assertEqual(earned.points, 0)

    @PROPERTY_SETTINGS
    @given(earn=DAYS, months=st.integers(1, 120))
    def test_expiry_after_months(self, earn, months):
        expiry = expiry_date("months", earn, months=months)
        self.assertGreater(expiry, earn)
        self.assertEqual(
            (expiry.year - earn.year) * 12 + expiry.month - earn.month, months
        )
        last = calendar.monthrange(expiry.year, expiry.month)[1]
        self.assertEqual(expiry.day, min(earn.day, last))
        # whole years after 29 February: 28 February when there is no 29th
        if earn.month == 2 and earn.day == 29 and not months % 12:
            if not calendar.isleap(expiry.year):
                self.assertEqual((expiry.month, expiry.day), (2, 28))

    @PROPERTY_SETTINGS
    @given(earn=DAYS, years=st.integers(1, 10))
    def test_expiry_at_year_end(self, earn, years):
        expiry = expiry_date("year_end", earn, years=years)
        self.assertEqual(expiry, date(earn.year + years - 1, 12, 31))
        self.assertGreaterEqual(expiry, earn)
        self.assertIsNone(expiry_date("never", earn))

    def test_leap_day_examples(self):
        self.assertEqual(
            expiry_date("months", date(2024, 2, 29), months=12), date(2025, 2, 28)
        )
        self.assertEqual(
            expiry_date("months", date(2024, 2, 29), months=48), date(2028, 2, 29)
        )
        self.assertEqual(
            expiry_date("months", date(2025, 1, 31), months=1), date(2025, 2, 28)
        )
        self.assertEqual(
            expiry_date("year_end", date(2024, 2, 29), years=1), date(2024, 12, 31)
        )


CUTS = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=4, max_size=4
).map(sorted)


@tagged("post_install", "-at_install")
class TestScoringProperties(BaseCase):
    @PROPERTY_SETTINGS
    @given(
        values=st.lists(st.integers(-100, 100), min_size=1, max_size=50),
        cuts=CUTS,
        higher=st.booleans(),
        inclusive=st.booleans(),
    )
    def test_scores_are_monotonic_and_ties_score_alike(
        self, values, cuts, higher, inclusive
    ):
        scored = {v: scoring.score(v, cuts, higher, inclusive) for v in values}
        for value in values:
            # ties: the same value always gets the same score
            self.assertEqual(
                scoring.score(value, cuts, higher, inclusive), scored[value]
            )
            self.assertIn(scored[value], range(1, 6))
        ordered = sorted(scored)
        for low, high in itertools.pairwise(ordered):
            if higher:
                self.assertLessEqual(scored[low], scored[high])
            else:
                self.assertGreaterEqual(scored[low], scored[high])
        self.assertIsNone(scoring.score(None, cuts, higher, inclusive))

    @PROPERTY_SETTINGS
    @given(value=st.integers(-100, 100), higher=st.booleans())
    def test_all_cut_points_equal(self, value, higher):
        """Heavy ties (most customers bought once): the cut points collapse
        and the scores still stay within 1..5."""
        cuts = [float(value)] * 4
        inclusive = scoring.score(value, cuts, higher, True)
        exclusive = scoring.score(value, cuts, higher, False)
        self.assertEqual(inclusive, 5 if higher else 1)
        self.assertEqual(exclusive, 1 if higher else 5)

    def test_segment_index_is_a_bijection(self):
        indexes = {
            scoring.segment_index(r, f, m)
            for r in range(1, 6)
            for f in range(1, 6)
            for m in range(1, 6)
        }
        self.assertEqual(indexes, set(range(125)))

    @PROPERTY_SETTINGS
    @given(
        probability=st.none() | st.floats(0, 1),
        thresholds=st.tuples(st.floats(0, 1), st.floats(0, 1)).map(sorted),
    )
    def test_churn_risk_levels(self, probability, thresholds):
        medium, high = thresholds
        risk = scoring.churn_risk(probability, high, medium)
        if probability is None:
            self.assertIsNone(risk)
        elif probability >= high:
            self.assertEqual(risk, "high")
        elif probability >= medium:
            self.assertEqual(risk, "medium")
        else:
            self.assertEqual(risk, "low")


@st.composite
def ladders(draw):
    size = draw(st.integers(1, 4))
    thresholds = sorted(
        draw(
            st.lists(
                st.floats(1, 1e6, allow_nan=False),
                min_size=size,
                max_size=size,
                unique=True,
            )
        )
    )
    return [
        (index + 1, threshold, draw(st.integers(0, 400)))
        for index, threshold in enumerate(thresholds)
    ]


TODAY = date(2026, 6, 15)


@tagged("post_install", "-at_install")
class TestTierProperties(BaseCase):
    @PROPERTY_SETTINGS
    @given(
        ladder=ladders(),
        value=st.floats(0, 2e6, allow_nan=False),
        tier=st.integers(0, 6),
        stay=st.none() | st.integers(0, 1000),
        floor=st.integers(0, 4),
        floor_days=st.integers(-30, 30),
        review=st.booleans(),
    )
    def test_tier_decisions(self, ladder, value, tier, stay, floor, floor_days, review):
        member = {
            "tier_id": tier or None,
            "since": TODAY - timedelta(days=stay) if stay is not None else None,
            "floor_id": floor or None,
            "floor_end": TODAY + timedelta(days=floor_days) if floor else None,
            "value": value,
        }
        ids = [tier_id for tier_id, _t, _s in ladder]
        move = tier_move(ladder, member, TODAY, review=review)
        if move is None:
            return
        self.assertNotEqual(move.to_tier_id, member["tier_id"])
        self.assertTrue(move.to_tier_id is None or move.to_tier_id in ids)
        on_ladder = member["tier_id"] in ids or member["tier_id"] is None
        if not review and on_ladder:
            # an order never moves a member down
            self.assertEqual(move.direction, "up")
        if move.reason == "qualified":
            threshold = {t: th for t, th, _s in ladder}.get(move.to_tier_id, 0)
            self.assertLessEqual(threshold, value)
        # the decision is stable: once moved, the member stays
        moved = dict(member, tier_id=move.to_tier_id, since=TODAY)
        self.assertIsNone(tier_move(ladder, moved, TODAY, review=review))


@tagged("post_install", "-at_install")
class TestBgNbdProperties(BaseCase):
    def _assert_sane(self, params, frequency, recency, age):
        alive = bgnbd.probability_alive(params, frequency, recency, age)
        expected = bgnbd.expected_purchases(params, 90, frequency, recency, age)
        self.assertTrue(np.all(np.isfinite(alive)))
        self.assertTrue(np.all((alive >= 0) & (alive <= 1)))
        self.assertTrue(np.all(np.isfinite(expected)))
        self.assertTrue(np.all(expected >= 0))

    @PROPERTY_SETTINGS
    @given(
        customers=st.lists(
            st.tuples(
                st.integers(0, 300),
                st.floats(0, 1.0),
                st.floats(1.0, 2000.0),
            ),
            min_size=1,
            max_size=40,
        ),
        penalizer=st.sampled_from([0.0, 0.001, 0.1]),
    )
    def test_fit_is_finite_or_refuses(self, customers, penalizer):
        frequency = [x for x, _s, _a in customers]
        age = [a for _x, _s, a in customers]
        recency = [s * a if x else 0.0 for (x, s, a) in customers]
        try:
            params = bgnbd.fit(frequency, recency, age, penalizer=penalizer)
        except ValueError:
            # no maximum-likelihood estimate (no repeat purchase at all, one
            # customer...): a clear refusal the nightly run handles
            return
        for value in params:
            self.assertTrue(math.isfinite(value) and value > 0, params)
        self._assert_sane(params, frequency, recency, age)

    def test_degenerate_data(self):
        # every customer bought once
        with self.assertRaises(ValueError):
            bgnbd.fit([0] * 50, [0.0] * 50, [100.0] * 50)
        params = bgnbd.fit([0] * 50, [0.0] * 50, [100.0] * 50, penalizer=0.1)
        self._assert_sane(params, [0] * 50, [0.0] * 50, [100.0] * 50)
        # one customer
        params = bgnbd.fit([3], [50.0], [100.0], penalizer=0.1)
        self._assert_sane(params, [3], [50.0], [100.0])

    @PROPERTY_SETTINGS
    @given(
        frequency=st.integers(0, 10**7),
        share=st.floats(0, 1),
        age=st.floats(1e-3, 1e5),
        r=st.floats(1e-3, 1e3),
        alpha=st.floats(1e-3, 1e4),
        a=st.floats(1e-3, 1e3),
        b=st.floats(1e-3, 1e3),
    )
    def test_predictions_on_any_customer(self, frequency, share, age, r, alpha, a, b):
        recency = min(share * age, age) if frequency else 0.0
        params = bgnbd.BgNbdParams(r=r, alpha=alpha, a=a, b=b)
        self._assert_sane(params, [frequency], [recency], [age])
        figures = scoring.churn_figures(
            params._asdict(), [frequency], [recency], [age], 90
        )
        self.assertTrue(0 <= figures[0][0] <= 1)
