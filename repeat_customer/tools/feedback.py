"""The decisions of a satisfaction survey, as plain functions: the NPS group
of a score, its value in the NPS average, and whether an answer is low."""

NPS_RANGE = (0, 10)
CSAT_RANGE = (1, 5)
# Net Promoter Score: 9-10 promoters, 7-8 passives, 0-6 detractors
PROMOTER_MIN = 9
PASSIVE_MIN = 7


def nps_group(score):
    """``promoter``, ``passive`` or ``detractor`` for an NPS answer 0-10
    (None when there is no answer)."""
    if score is None or score is False:
        return None
    if score >= PROMOTER_MIN:
        return "promoter"
    if score >= PASSIVE_MIN:
        return "passive"
    return "detractor"


def nps_value(score):
    """The answer's weight in the Net Promoter Score: +100 for a promoter,
    0 for a passive, -100 for a detractor, so that the average of the values
    over answers is the NPS (share of promoters minus share of detractors,
    in points). None when there is no answer."""
    return {"promoter": 100, "passive": 0, "detractor": -100}.get(nps_group(score))


def is_low(nps, csat, low_nps, low_csat):
    """Whether an answer needs a person today:

    1. an NPS answer at or below ``low_nps``, or
    2. a CSAT answer at or below ``low_csat``.

    A question left unanswered never makes an answer low."""
    return (nps is not None and nps is not False and nps <= low_nps) or (
        csat is not None and csat is not False and csat <= low_csat
    )
