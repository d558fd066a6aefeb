"""The decisions of tiers and scoring as plain functions (no ORM), and the
SQL of the nightly run agreeing with them."""

import random
from datetime import date, timedelta

from odoo.tests import BaseCase, TransactionCase, tagged
from odoo.tools import SQL

from ..tools import scoring
from ..tools.tiers import tier_move

TODAY = date(2026, 6, 15)
# Silver from 1 000 (stay 30 days), Gold from 5 000 (stay 90), VIP from 20 000
LADDER = [(1, 1000.0, 30), (2, 5000.0, 90), (3, 20000.0, 0)]


def member(value, tier_id=None, since=None, floor_id=None, floor_end=None):
    return {
        "value": value,
        "tier_id": tier_id,
        "since": since,
        "floor_id": floor_id,
        "floor_end": floor_end,
    }


@tagged("post_install", "-at_install")
class TestTierMove(BaseCase):
    def test_up_at_once_on_the_threshold(self):
        self.assertIsNone(tier_move(LADDER, member(999.99), TODAY))
        move = tier_move(LADDER, member(1000), TODAY)
        self.assertEqual(move, (1, "up", "qualified"))
        self.assertEqual(
            tier_move(LADDER, member(25000, 1), TODAY), (3, "up", "qualified")
        )

    def test_down_only_on_review_after_the_minimum_stay(self):
        gold = member(100, 2, since=TODAY - timedelta(days=89))
        self.assertIsNone(tier_move(LADDER, gold, TODAY))
        self.assertIsNone(tier_move(LADDER, gold, TODAY, review=True))
        gold["since"] = TODAY - timedelta(days=90)
        self.assertEqual(
            tier_move(LADDER, gold, TODAY, review=True), (None, "down", "review")
        )
        gold["value"] = 1500
        self.assertEqual(
            tier_move(LADDER, gold, TODAY, review=True), (1, "down", "review")
        )

    def test_manual_floor_holds_until_its_end(self):
        floored = member(10, None, floor_id=2, floor_end=TODAY)
        self.assertEqual(tier_move(LADDER, floored, TODAY), (2, "up", "manual"))
        held = member(
            10, 2, since=TODAY - timedelta(days=400), floor_id=2, floor_end=TODAY
        )
        self.assertIsNone(tier_move(LADDER, held, TODAY, review=True))
        held["floor_end"] = TODAY - timedelta(days=1)
        self.assertEqual(
            tier_move(LADDER, held, TODAY, review=True), (None, "down", "review")
        )
        # a floor below the qualified tier does not decide
        self.assertEqual(
            tier_move(LADDER, member(6000, None, floor_id=1, floor_end=TODAY), TODAY),
            (2, "up", "qualified"),
        )

    def test_tier_off_the_ladder_is_always_moved(self):
        self.assertEqual(
            tier_move(LADDER, member(1200, 99), TODAY), (1, "up", "qualified")
        )
        # out of any tier, without waiting for a review
        self.assertEqual(
            tier_move(LADDER, member(10, 99), TODAY), (None, "down", "qualified")
        )
        self.assertEqual(
            tier_move([], member(10, 99), TODAY, review=True),
            (None, "down", "qualified"),
        )

    def test_no_value_counts_as_zero(self):
        self.assertIsNone(tier_move(LADDER, member(None), TODAY))


@tagged("post_install", "-at_install")
class TestScoring(BaseCase):
    def test_score(self):
        cuts = [10, 20, 30, 40]
        self.assertEqual(
            [scoring.score(v, cuts, True, True) for v in (5, 10, 25, 40, 99)],
            [1, 2, 3, 5, 5],
        )
        self.assertEqual(
            [scoring.score(v, cuts, True, False) for v in (10, 40, 41)], [1, 4, 5]
        )
        # recency: fewer days is better
        self.assertEqual(
            [scoring.score(v, cuts, False, False) for v in (0, 10, 11, 45)],
            [5, 5, 4, 1],
        )
        self.assertIsNone(scoring.score(None, cuts, True, True))

    def test_segment_map_first_match_and_gaps(self):
        segments = [(7, 5, 5, 1, 5, 1, 5), (8, 1, 5, 1, 5, 1, 5)]
        result = scoring.segment_map(segments)
        self.assertEqual(len(result), 125)
        self.assertEqual(result[scoring.segment_index(5, 1, 1)], 7)
        self.assertEqual(result[scoring.segment_index(4, 5, 5)], 8)
        self.assertEqual(scoring.segment_map([(9, 1, 1, 1, 1, 1, 1)]).count(None), 124)

    def test_churn_risk(self):
        self.assertEqual(
            [scoring.churn_risk(p, 0.7, 0.4) for p in (None, 0.0, 0.4, 0.69, 0.7, 1.0)],
            [None, "low", "medium", "medium", "high", "high"],
        )

    def test_churn_figures(self):
        params = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}
        churn, expected = scoring.churn_figures(
            params, [0, 2, 10], [0, 30, 35], [39, 39, 39], 90 / 7
        )
        self.assertEqual(churn[0], 0.0)  # BG/NBD: a one-time buyer is alive
        self.assertGreater(churn[1], churn[2])
        self.assertGreater(expected[2], expected[1])
        self.assertEqual(churn, [round(c, 2) for c in churn])


@tagged("post_install", "-at_install")
class TestScoringSqlAgrees(TransactionCase):
    def test_sql_scores_equal_the_function(self):
        rng = random.Random(7)
        Membership = self.env["customer.membership"]
        cuts = sorted(rng.uniform(0, 100) for _ in range(4))
        cuts[2] = cuts[1]  # equal cut points happen on skewed data
        values = [round(rng.uniform(-10, 110), 1) for _ in range(300)] + cuts
        for higher, inclusive in [(True, True), (True, False), (False, False)]:
            expr = Membership._score_sql(SQL("v"), cuts, higher, inclusive)
            self.env.cr.execute(
                SQL("SELECT v, %s FROM unnest(%s::float8[]) AS v", expr, values)
            )
            for value, sql_score in self.env.cr.fetchall():
                self.assertEqual(
                    sql_score,
                    scoring.score(value, cuts, higher, inclusive),
                    (value, higher, inclusive),
                )
