"""How members are scored: plain functions, without the ORM.

The nightly run applies the same rules in SQL (``customer_membership_rfm``);
the tests check that both give the same scores, segments and risks.
"""

import numpy as np

from . import bgnbd, gammagamma

SCORES = range(1, 6)


def score(value, cutpoints, higher_is_better, inclusive):
    """The 1-5 score of ``value`` against four increasing cut points: one
    point per cut point passed (reached, when ``inclusive``). Recency is
    better when lower: its score counts down from 5. None scores None."""
    if value is None:
        return None
    passed = sum(1 for cut in cutpoints if (value >= cut if inclusive else value > cut))
    return 1 + passed if higher_is_better else 5 - passed


def segment_index(recency, frequency, monetary):
    """Where the segment of an (R, F, M) triple is in a ``segment_map``."""
    return (recency - 1) * 25 + (frequency - 1) * 5 + (monetary - 1)


def segment_map(segments):
    """The segment of each of the 125 (R, F, M) triples, indexed by
    ``segment_index``: the first of ``segments`` whose ranges hold the
    scores, or None. ``segments`` are (id, r min, r max, f min, f max, m
    min, m max) tuples in priority order."""
    result = []
    for r in SCORES:
        for f in SCORES:
            for m in SCORES:
                result.append(
                    next(
                        (
                            seg_id
                            for seg_id, r0, r1, f0, f1, m0, m1 in segments
                            if r0 <= r <= r1 and f0 <= f <= f1 and m0 <= m <= m1
                        ),
                        None,
                    )
                )
    return result


def churn_risk(probability, high, medium):
    """'high' from the high threshold up, 'medium' from the medium one, else
    'low'; None without a probability."""
    if probability is None:
        return None
    if probability >= high:
        return "high"
    if probability >= medium:
        return "medium"
    return "low"


def churn_figures(params, frequency, recency, age, horizon, digits=(2, 1)):
    """The churn probability (1 - P(alive)) and the purchases expected over
    ``horizon`` periods of each customer, under fitted BG/NBD ``params``
    (a dict of r, alpha, a, b), rounded to ``digits`` (the stored
    precisions). Return two lists."""
    model = bgnbd.BgNbdParams(**params)
    alive = bgnbd.probability_alive(model, frequency, recency, age)
    expected = bgnbd.expected_purchases(model, horizon, frequency, recency, age)
    return (
        np.round(1.0 - alive, digits[0]).tolist(),
        np.round(expected, digits[1]).tolist(),
    )


# a month in days, for the lifetime value's periods
DAYS_PER_MONTH = 365.25 / 12


def value_figures(
    bgnbd_params,
    gamma_gamma_params,
    frequency,
    recency,
    age,
    average_value,
    months,
    yearly_discount,
    days_per_period,
):
    """The expected order value and the predicted lifetime value of each
    customer, rounded to the cent (two lists).

    1. The expected order value is the Gamma-Gamma conditional expectation
       (``tools.gammagamma.conditional_expected_value``) of the customer's
       repeat purchases (``frequency``) and the mean value of its repeat
       purchase days (``average_value``: the first purchase left out, as the
       model's m is).
    2. The lifetime value sums, over ``months`` months, the purchases the
       BG/NBD model expects in each month times the expected order value,
       discounted at ``yearly_discount`` (a share: 0.1 for 10 %) turned into
       a monthly rate; the models' time unit is ``days_per_period`` days.
    """
    model = bgnbd.BgNbdParams(**bgnbd_params)
    spend = gammagamma.GammaGammaParams(**gamma_gamma_params)
    value = gammagamma.conditional_expected_value(spend, frequency, average_value)
    monthly = (1.0 + yearly_discount) ** (1.0 / 12.0) - 1.0
    clv = gammagamma.customer_lifetime_value(
        lambda t: bgnbd.expected_purchases(model, t, frequency, recency, age),
        value,
        months,
        DAYS_PER_MONTH / days_per_period,
        monthly,
    )
    return np.round(value, 2).tolist(), np.round(clv, 2).tolist()
