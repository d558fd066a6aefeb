"""Which tier a member moves to: a plain function, without the ORM.

A ladder is the company's active tiers, lowest first, as (tier id, qualifying
threshold, minimum stay in days) tuples with increasing thresholds.
"""

from bisect import bisect_right
from typing import NamedTuple

# rank of a member in no tier, and of a member in a tier off the ladder
# (archived, or another company's): always re-ranked
NO_TIER = -1
OFF_LADDER = -2


class TierMove(NamedTuple):
    to_tier_id: int | None
    direction: str  # "up" or "down"
    reason: str  # "qualified", "manual" or "review"


def tier_move(ladder, member, today, review=False):
    """Return the ``TierMove`` of a member, or None when the member stays.

    ``member`` holds ``tier_id``, ``since`` (date the current tier started),
    ``floor_id`` and ``floor_end`` (a manual floor and its end date) and
    ``value`` (the qualifying figure), as a mapping.

    1. The member qualifies for the highest tier whose threshold the value
       reaches; a manual floor whose end date has not passed holds its tier
       if it is higher.
    2. A move up happens at once (reason ``manual`` when the floor decides,
       else ``qualified``).
    3. A move down happens only on a review, and only once the member has
       stayed the current tier's minimum stay.
    4. A member in a tier off the ladder is always moved (up to where they
       qualify, or out of any tier).
    """
    rank = {tier_id: index for index, (tier_id, _t, _s) in enumerate(ladder)}
    thresholds = [threshold for _id, threshold, _stay in ladder]
    qualified = bisect_right(thresholds, float(member["value"] or 0)) - 1
    floor_end = member.get("floor_end")
    floor = (
        rank.get(member.get("floor_id"), NO_TIER)
        if floor_end and floor_end >= today
        else NO_TIER
    )
    target = max(qualified, floor)
    tier_id = member.get("tier_id") or None
    current = rank.get(tier_id, NO_TIER)
    if tier_id and tier_id not in rank:
        current = OFF_LADDER
    if target > current:
        reason = "manual" if floor > qualified else "qualified"
    elif target < current and review:
        since = member.get("since")
        stay = (today - since).days if since else None
        minimum = ladder[current][2] if current >= 0 else None
        if minimum is not None and stay is not None and stay < minimum:
            return None
        reason = "review"
    else:
        return None
    to_tier_id = ladder[target][0] if target >= 0 else None
    if to_tier_id == tier_id:
        return None
    direction = "up" if target > current and target >= 0 else "down"
    return TierMove(to_tier_id, direction, reason)
