"""How many points an order earns and until when: plain functions, without
the ORM (``sale_order_points`` and ``res_company`` apply them)."""

from typing import NamedTuple

from dateutil.relativedelta import relativedelta

from odoo.tools import float_round

ROUNDING_METHODS = {"down": "DOWN", "half": "HALF-UP", "up": "UP"}


class OrderPoints(NamedTuple):
    points: int
    base: float  # the amount that earns points, in company currency
    multiplier: float  # the tier's and the bonus rules' multipliers
    rule_ids: list  # the bonus rules that applied, sorted


def round_points(raw, rounding):
    """``raw`` points rounded to a whole number by the company's rounding
    (``down``, ``half`` or ``up``)."""
    return int(
        float_round(
            raw, precision_rounding=1.0, rounding_method=ROUNDING_METHODS[rounding]
        )
    )


def order_points(
    lines, rate, programme, day, tier_multiplier, birthday, per_unit, rounding
):
    """The points of one order.

    ``lines`` are (product id, category path "1/4/9", untaxed subtotal in
    the order's currency); ``rate`` turns the order's currency into the
    company's; ``programme`` is the company's ``_loyalty_programme()``;
    ``tier_multiplier`` is the member's tier multiplier (1 without a tier).

    1. Lines of excluded products or categories (or their subcategories)
       earn nothing.
    2. A line in a category with bonus rules earns at the highest of their
       multipliers (refunds and discounts, negative lines, at 1).
    3. The whole order earns at the tier multiplier times every period rule
       of its day and every birthday rule of the birthday's month.
    4. Points are the amount (never below 0) times the points per currency
       unit and the multipliers, rounded by the company's rounding.
    """
    excluded = [f"/{cid}/" for cid in programme["excluded_categs"]]
    used_rules = set()
    base = 0.0
    for product_id, path, subtotal in lines:
        slashed = "/" + path
        if product_id in programme["excluded_products"] or any(
            marker in slashed for marker in excluded
        ):
            continue
        amount = subtotal / rate
        matching = [
            (multiplier, rule_id)
            for rule_id, categ_id, multiplier in programme["category_rules"]
            if f"/{categ_id}/" in slashed
        ]
        if matching and amount > 0:
            multiplier, rule_id = max(matching)
            amount *= multiplier
            used_rules.add(rule_id)
        base += amount
    multiplier = tier_multiplier
    for rule_id, rule_type, date_from, date_to, factor in programme["other_rules"]:
        if (rule_type == "period" and date_from <= day <= date_to) or (
            rule_type == "birthday" and birthday and birthday.month == day.month
        ):
            multiplier *= factor
            used_rules.add(rule_id)
    raw = max(base, 0.0) * per_unit * multiplier
    return OrderPoints(
        round_points(raw, rounding), base, multiplier, sorted(used_rules)
    )


def expiry_date(policy, earn_date, months=0, years=1):
    """The last day on which points earned on ``earn_date`` can be spent
    (None: they never expire). ``months``: that many months later (the 31st
    becomes the month's last day, 29 February the 28th). ``year_end``: 31
    December of the ``years``-th year counting the earning year."""
    if policy == "months":
        return earn_date + relativedelta(months=months)
    if policy == "year_end":
        return earn_date.replace(year=earn_date.year + years - 1, month=12, day=31)
    return None
