"""Pure arithmetic of the campaigns: the control group draw, quiet hours and
the uplift with its confidence interval (no ORM, tested on its own)."""

import hashlib
import math
from datetime import date, timedelta

# the control group is drawn in ten-thousandths, so shares to 0.01 % hold
CONTROL_BUCKETS = 10000
# two-sided 95 % normal quantile
Z_95 = 1.959963984540054


def control_bucket(campaign_id, partner_id):
    """The bucket (0 … 9 999) of a customer in a campaign: the first 32 bits
    of the MD5 of ``"<campaign id>:<partner id>"``, modulo 10 000. The same
    customer always falls in the same bucket of a campaign, whatever the
    database, the run or the order of the members; the SQL of the job
    computes the same number (``control_bucket_sql``)."""
    digest = hashlib.md5(f"{campaign_id}:{partner_id}".encode()).hexdigest()
    return int(digest[:8], 16) % CONTROL_BUCKETS


def control_bucket_sql(campaign_column, partner_column):
    """SQL text of ``control_bucket`` over two integer columns (to be wrapped
    in ``SQL``; the column names are the caller's, never user input)."""
    return (
        f"mod(('x' || substr(md5({campaign_column}::text || ':' || "
        f"{partner_column}::text), 1, 8))::bit(32)::bigint, {CONTROL_BUCKETS})"
    )


def is_control(bucket, share):
    """Whether a bucket is held out for a control share in percent (0-100)."""
    return bucket < round(share * CONTROL_BUCKETS / 100)


def in_quiet_hours(hour, start, end):
    """Whether a local time of day (hours as a float, 13.5 for 13:30) falls
    in the quiet hours from ``start`` to ``end`` (hours; the span may cross
    midnight: 21 to 9). Equal bounds mean no quiet hours."""
    if start == end:
        return False
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def celebrated_on(anniversary, year):
    """The day on which a birthday (or another yearly date) is celebrated in
    ``year``: the same month and day, 29 February on 28 February in years
    without it."""
    if anniversary.month == 2 and anniversary.day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return anniversary.replace(year=year)


def proportion_uplift(successes_t, n_t, successes_c, n_c, z=Z_95):
    """Difference of two proportions, treated minus control, with its Wald
    interval: ``(p_t - p_c, low, high)``, in fractions. ``None`` when a group
    is empty (no difference to measure)."""
    if n_t <= 0 or n_c <= 0:
        return None
    p_t = successes_t / n_t
    p_c = successes_c / n_c
    diff = p_t - p_c
    margin = z * math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    return diff, diff - margin, diff + margin


# one-sided 80 % normal quantile: the power of the sample size below
Z_POWER_80 = 0.8416212335729143


def members_per_group_needed(p_t, p_c, z=Z_95, z_power=Z_POWER_80):
    """Members each group needs for a difference of conversion ``p_t -
    p_c`` (fractions) to be told from chance at 95 % with 80 % power (the
    usual two-proportion sample size). ``None`` when there is no difference
    to tell."""
    diff = p_t - p_c
    if not diff:
        return None
    variance = p_t * (1 - p_t) + p_c * (1 - p_c)
    return math.ceil((z + z_power) ** 2 * variance / (diff * diff))


def mean_uplift(sum_t, sumsq_t, n_t, sum_c, sumsq_c, n_c, z=Z_95):
    """Difference of two means, treated minus control, from each group's sum
    and sum of squares, with a normal (Welch) interval on the unbiased
    variances: ``(m_t - m_c, low, high)``. ``None`` when a group has fewer
    than two members (no variance)."""
    if n_t < 2 or n_c < 2:
        return None
    mean_t = sum_t / n_t
    mean_c = sum_c / n_c
    var_t = max(sumsq_t - n_t * mean_t * mean_t, 0.0) / (n_t - 1)
    var_c = max(sumsq_c - n_c * mean_c * mean_c, 0.0) / (n_c - 1)
    diff = mean_t - mean_c
    margin = z * math.sqrt(var_t / n_t + var_c / n_c)
    return diff, diff - margin, diff + margin


# the longest gap a single-purchase member is expected to come back after
MAX_EXPECTED_GAP_DAYS = 3650


def next_purchase_date(first, last, purchase_days, expected_90d):
    """When a member is expected to buy again: the last purchase plus their
    own average gap between purchase days (two purchase days or more), else
    plus the gap the churn model expects (90 days over the purchases it
    expects in the next 90 days), else ``None``. ``next_purchase_sql`` is the
    same in SQL."""
    if not last:
        return None
    if purchase_days and purchase_days >= 2 and first and last > first:
        gap = round((last - first).days / (purchase_days - 1))
    elif expected_90d and expected_90d > 0:
        gap = min(round(90 / expected_90d), MAX_EXPECTED_GAP_DAYS)
    else:
        return None
    return last + timedelta(days=gap)


def next_purchase_sql(alias):
    """``next_purchase_date`` over the membership columns of ``alias``."""
    m = alias
    return (
        f"CASE WHEN {m}.purchase_day_count >= 2 "
        f"AND {m}.last_order_date > {m}.first_order_date "
        f"THEN {m}.last_order_date + round(({m}.last_order_date - "
        f"{m}.first_order_date)::numeric / ({m}.purchase_day_count - 1))::int "
        f"WHEN {m}.expected_purchases_90d > 0 "
        f"THEN {m}.last_order_date + LEAST(round(90 / "
        f"{m}.expected_purchases_90d::numeric), {MAX_EXPECTED_GAP_DAYS})::int END"
    )
