"""The valuation of the points liability, day by day (no ORM, tested on its
own): what the daily journal entries post, and what the reconciliation
compares with the liability account.

A company's ledger is summed per day into a ``DayFlow``; ``value_days``
walks the days in order and returns, for each, the amount of every
movement kind (``BUCKETS``) and the liability after it.
"""

from dataclasses import dataclass, field

DEFERRED = "deferred"
PROVISION = "provision"

# movement kinds of the journal entries: +1 when the kind raises the
# liability (credit on the liability account), -1 when it lowers it
BUCKETS = {
    "opening": 1,
    "deferral": 1,
    "deferral_reversal": -1,
    "provision": 1,
    "provision_reversal": -1,
    "marketing": 1,
    "revenue": -1,
    "usage": -1,
    "breakage": -1,
    "release": -1,
}


@dataclass
class DayFlow:
    """What a company's ledger did on one day, summed.

    Points are counted positive in the direction named; values are in
    company currency, as valued when the points came in (see
    ``allocation``):

    - ``sale_points`` / ``sale_value``: points earned on orders;
    - ``sale_reversed_points`` / ``sale_reversed_value``: of those, points
      taken back by cancellations and credit notes, at their share of the
      value they came in with;
    - ``gift_points`` / ``gift_value`` (signed): points given outside a sale
      (campaign bonus points, adjustments, net of negative adjustments and
      of reversals of bonus points);
    - ``redeemed_points``: points redeemed, net of redemptions reversed;
    - ``expired_points``: points expired.
    """

    day: object
    sale_points: int = 0
    sale_value: float = 0.0
    sale_reversed_points: int = 0
    sale_reversed_value: float = 0.0
    gift_points: int = 0
    gift_value: float = 0.0
    redeemed_points: int = 0
    expired_points: int = 0

    @property
    def points(self):
        """The day's change of the points outstanding."""
        return (
            self.sale_points
            - self.sale_reversed_points
            + self.gift_points
            - self.redeemed_points
            - self.expired_points
        )


@dataclass
class DayValue:
    """The valuation after one day: the amount of each movement kind of the
    day, the liability and the points outstanding at its end, the rate
    used."""

    day: object
    amounts: dict = field(default_factory=dict)
    liability: float = 0.0
    outstanding: int = 0
    rate: float = 0.0


def allocation(amount, points, point_value, rate, method=DEFERRED):
    """The value a sale's points come in with.

    1. The points' stand-alone selling price is S = points x value per
       point x expected redemption rate.
    2. Deferred revenue: the order's untaxed amount A is shared between the
       goods and the points by relative stand-alone price, so the points get
       A x S / (A + S). An order of no amount defers nothing.
    3. Cost provision: the points cost S.
    """
    standalone = points * point_value * rate
    if method == PROVISION:
        return standalone
    if amount <= 0 or standalone <= 0:
        return 0.0
    return amount * standalone / (amount + standalone)


def value_days(flows, rate_of, method=DEFERRED):
    """Value ``flows`` (``DayFlow`` in date order) and return a ``DayValue``
    per flow. ``rate_of(day)`` is the expected redemption rate of a day.

    Deferred revenue (IFRS 15 B39-B43, CAS 14), over the pool of points
    issued since nothing was last outstanding:

    1. Points earned on a sale come in at their allocation (``deferral``),
       points given outside a sale at points x value x rate, a marketing
       expense (``marketing``); reversals take out their share of what their
       points came in with (``deferral_reversal``, or ``marketing``
       negative).
    2. Revenue recognised to date = deferred to date x redeemed to date /
       (issued to date x the day's rate), capped at the deferred amount and
       never below zero; a day's revenue is the change of it
       (``revenue``). A revised rate is thus caught up cumulatively, and the
       allocations made at the sales stay as they were.
    3. When no point is outstanding at the end of a day, what is left of the
       liability is recognised (``breakage``) and the pool starts again.

    Cost provision:

    1. Every point that comes in is an expense and a provision at its value
       (``provision``, ``marketing`` for points outside a sale); reversals
       take out their share (``provision_reversal``).
    2. Points redeemed use the provision (``usage``) and points expired
       release it (``release``), at the provision per outstanding point of
       the day, after the day's points came in.
    3. When no point is outstanding at the end of a day, what is left is
       released.
    """
    if method == PROVISION:
        return _value_provision(flows, rate_of)
    return _value_deferred(flows, rate_of)


def _value_deferred(flows, rate_of):
    values = []
    deferred = issued = redeemed = recognised = 0.0
    outstanding = 0
    for flow in flows:
        rate = rate_of(flow.day)
        amounts = {
            "deferral": flow.sale_value,
            "deferral_reversal": flow.sale_reversed_value,
            "marketing": flow.gift_value,
        }
        deferred += flow.sale_value - flow.sale_reversed_value + flow.gift_value
        issued += flow.sale_points - flow.sale_reversed_points + flow.gift_points
        redeemed += flow.redeemed_points
        outstanding += flow.points
        target = 0.0
        if issued > 0 and rate > 0 and deferred > 0:
            target = min(deferred, max(0.0, deferred * redeemed / (issued * rate)))
        amounts["revenue"] = target - recognised
        recognised = target
        amounts["breakage"] = 0.0
        if outstanding <= 0 and (deferred or issued or redeemed):
            amounts["breakage"] = deferred - recognised
            deferred = issued = redeemed = recognised = 0.0
        values.append(
            DayValue(flow.day, amounts, deferred - recognised, outstanding, rate)
        )
    return values


def _value_provision(flows, rate_of):
    values = []
    provision = 0.0
    outstanding = 0
    for flow in flows:
        amounts = {
            "provision": flow.sale_value,
            "provision_reversal": flow.sale_reversed_value,
            "marketing": flow.gift_value,
        }
        provision += flow.sale_value - flow.sale_reversed_value + flow.gift_value
        before_out = outstanding + flow.points + flow.redeemed_points
        before_out += flow.expired_points
        outstanding += flow.points
        per_point = provision / before_out if before_out > 0 else 0.0
        amounts["usage"] = flow.redeemed_points * per_point
        amounts["release"] = flow.expired_points * per_point
        provision -= amounts["usage"] + amounts["release"]
        if outstanding <= 0:
            amounts["release"] += provision
            provision = 0.0
        values.append(
            DayValue(flow.day, amounts, provision, outstanding, rate_of(flow.day))
        )
    return values


def liability_effect(amounts):
    """The change of the liability that movement ``amounts`` make."""
    return sum(BUCKETS[kind] * amount for kind, amount in amounts.items())
