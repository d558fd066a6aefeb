"""Gamma-Gamma spend model and customer lifetime value (no ORM).

Pure numpy/scipy implementation of the spend model of

    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "RFM and CLV:
    Using Iso-Value Curves for Customer Base Analysis", Journal of
    Marketing Research 42(4), 415-430,

fitted on customers with at least one repeat purchase: ``frequency`` (``x``,
repeat purchases) and ``monetary`` (``m``, the average value of those
purchases). A customer's transaction values are gamma(``p``, ``nu``)
distributed around their mean, and ``nu`` is gamma(``q``, ``v``) across
customers; spend is assumed independent of the purchase process, so the
model sits next to the BG/NBD model of ``tools.bgnbd``.
"""

import typing

import numpy as np
from scipy import optimize, special

__all__ = [
    "GammaGammaParams",
    "conditional_expected_value",
    "customer_lifetime_value",
    "fit",
    "log_likelihood",
]

_LOG_BOUND = 25.0
# largest gradient component (of the mean negative log-likelihood per
# customer, w.r.t. the log-parameters) accepted at a stop: small data sets
# have their optimum on a ridge (p large, v small, p v finite)
_GRADIENT_TOLERANCE = 1e-4


class GammaGammaParams(typing.NamedTuple):
    p: float
    q: float
    v: float


def _validate(frequency, monetary):
    try:
        x = np.asarray(frequency, dtype=float).reshape(-1)
        m = np.asarray(monetary, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"frequency and monetary must be numeric: {exc}") from exc
    if x.shape != m.shape:
        raise ValueError("frequency and monetary must have the same length")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(m))):
        raise ValueError("frequency and monetary must be finite")
    if np.any(x < 0) or np.any(m < 0):
        raise ValueError("frequency and monetary must be non-negative")
    return x, m


def _terms(theta, x, m, penalizer=0.0):
    """Mean negative log-likelihood per customer (plus ``penalizer`` times
    the squared log-parameters) and its gradient with respect to the
    log-parameters ``theta``."""
    p, q, v = np.exp(theta)
    px = p * x
    xm_v = x * m + v
    loglik = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(xm_v)
    )
    psi_sum = special.digamma(px + q)
    d_p = x * (psi_sum - special.digamma(px) + np.log(m) + np.log(x) - np.log(xm_v))
    d_q = psi_sum - special.digamma(q) + np.log(v) - np.log(xm_v)
    d_v = q / v - (px + q) / xm_v
    n = len(x)
    gradient = -np.array([p * d_p.sum(), q * d_q.sum(), v * d_v.sum()]) / n
    gradient = gradient + 2.0 * penalizer * theta
    return -loglik.sum() / n + penalizer * float(theta @ theta), gradient


def log_likelihood(params, frequency, monetary):
    """Total log-likelihood of ``params`` on customers with ``frequency > 0``."""
    x, m = _validate(frequency, monetary)
    keep = (x > 0) & (m > 0)
    value, _gradient = _terms(np.log(np.asarray(params, dtype=float)), x[keep], m[keep])
    return -value * int(keep.sum())


def fit(frequency, monetary, penalizer=0.0):
    """Maximum-likelihood estimate of ``(p, q, v)``.

    Only customers with a repeat purchase and a positive average value
    count (the model is about repeat spend). The optimiser (L-BFGS-B with
    the analytic gradient) works on log-parameters, with the values rescaled
    by their mean so that ``v`` is dimensionless; ``v`` is returned in the
    unit of ``monetary``. ``penalizer`` (``>= 0``) adds
    ``penalizer * sum(log(params) ** 2)`` (``v`` relative to the mean value)
    to the mean negative log-likelihood: small data sets, whose optimum lies
    on a ridge (``p`` without bound, ``p v`` finite), then have one. Raises
    ``ValueError`` when fewer than two such customers exist or no finite
    optimum is found.
    """
    if not (np.isfinite(penalizer) and penalizer >= 0):
        raise ValueError("penalizer must be a finite non-negative number")
    x, m = _validate(frequency, monetary)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if len(x) < 2:
        raise ValueError(
            "cannot fit the Gamma-Gamma model: fewer than two customers with "
            "a repeat purchase"
        )
    scale = float(m.mean())
    m = m / scale
    best = None
    for start in ([1.0, 1.0, 1.0], [5.0, 3.0, 2.0], [0.5, 2.0, 0.5]):
        result = optimize.minimize(
            _terms,
            np.log(start),
            args=(x, m, penalizer),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 3,
            options={"maxiter": 2000, "gtol": 1e-10, "ftol": 1e-14},
        )
        if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
            best = result
    if best is None or not (
        best.success or np.max(np.abs(best.jac)) <= _GRADIENT_TOLERANCE
    ):
        raise ValueError("the Gamma-Gamma fit did not converge")
    p, q, v = np.exp(best.x)
    return GammaGammaParams(float(p), float(q), float(v * scale))


def conditional_expected_value(params, frequency, monetary):
    """Expected average value of a customer's future purchases.

    Eq. 5 of the paper: a weighted mean of the population mean
    ``p v / (q - 1)`` and the customer's own average ``m``, the weight of
    the latter growing with the repeat purchases::

        E[M | p, q, v, x, m] = (p (v + x m)) / (p x + q - 1)

    Customers without a repeat purchase get the population mean. Needs
    ``q > 1`` (otherwise the mean spend is infinite): raises ``ValueError``.
    """
    p, q, v = params
    if not q > 1:
        raise ValueError("the expected value needs q > 1")
    x, m = _validate(frequency, monetary)
    x = np.where(m > 0, x, 0.0)
    return p * (v + x * m) / (p * x + q - 1.0)


def customer_lifetime_value(
    expected_purchases,
    expected_value,
    periods,
    period_length,
    discount_rate,
):
    """Discounted value of a customer's purchases over ``periods`` periods.

    ``expected_purchases(t)`` is the expected number of purchases in the
    next ``t`` time units (an array per customer, e.g. BG/NBD's
    ``expected_purchases`` bound to the fitted parameters and the
    customers' figures); a period is ``period_length`` time units and
    ``discount_rate`` the discount rate per period. The value of period
    ``i`` (1 .. periods) is the purchases expected in it times
    ``expected_value``, divided by ``(1 + discount_rate) ** i``.
    """
    if periods < 0 or period_length <= 0 or discount_rate <= -1:
        raise ValueError("periods, period length or discount rate out of range")
    total = np.zeros_like(np.asarray(expected_value, dtype=float))
    previous = expected_purchases(0.0)
    for i in range(1, int(periods) + 1):
        current = expected_purchases(i * period_length)
        total = (
            total + expected_value * (current - previous) / (1.0 + discount_rate) ** i
        )
        previous = current
    return total
