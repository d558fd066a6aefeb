"""BG/NBD ("beta-geometric / negative binomial distribution") customer model.

Pure numpy/scipy implementation of the model described in

    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005),
    "Counting Your Customers the Easy Way: An Alternative to the
    Pareto/NBD Model", Marketing Science 24(2), 275-284.

Every customer is summarised by three numbers, all expressed in the same
time unit (days, weeks, ...):

* ``frequency`` (``x``): number of *repeat* purchases, i.e. purchases after
  the first one (an integer ``>= 0``);
* ``recency`` (``t_x``): time between the first and the last purchase
  (``0`` when ``x == 0``; it is ignored in that case);
* ``age`` (``T``): time between the first purchase and the end of the
  observation period (``T >= t_x``).

While alive, a customer buys according to a Poisson process whose rate is
gamma(``r``, ``alpha``) distributed across customers; after each purchase the
customer drops out with a probability ``p`` that is beta(``a``, ``b``)
distributed across customers.  ``alpha`` is a time scale and is expressed in
the same unit as the inputs.
"""

import typing

import numpy as np
from scipy import optimize, special

__all__ = [
    "BgNbdParams",
    "expected_purchases",
    "fit",
    "log_likelihood",
    "probability_alive",
]

# Bounds of the internal log-parameters; alpha is fitted relative to the mean
# customer age, so all four parameters are dimensionless there.
_LOG_BOUND = 25.0
# Relative tolerance accepted on ``recency <= age`` (floating-point noise
# from unit conversions); larger violations raise.
_RECENCY_TOLERANCE = 1e-9
# Half-width of the interval around a = 1 (removable singularity of the
# conditional expectation) bridged by interpolation.
_A_ONE_STEP = 1e-5
# Frequencies up to this value use tabulated finite sums in the likelihood.
_MAX_TABLE_FREQUENCY = 100_000
# Largest gradient component (of the mean negative log-likelihood per
# customer, w.r.t. the log-parameters) accepted at an L-BFGS-B stop.
_GRADIENT_TOLERANCE = 1e-5
# Gauss-Jacobi nodes of the numerical fallback of expected_purchases.
_QUADRATURE_NODES = 64


class BgNbdParams(typing.NamedTuple):
    """Fitted BG/NBD parameters.

    ``r`` and ``alpha`` are the shape and scale of the gamma mixing
    distribution of the purchase rate (``alpha`` is in the time unit of the
    data); ``a`` and ``b`` are the shape parameters of the beta mixing
    distribution of the dropout probability.
    """

    r: float
    alpha: float
    a: float
    b: float


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------


def _as_1d_float(values: typing.Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from exc
    arr = np.atleast_1d(arr)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _validate_data(
    frequency: typing.Any,
    recency: typing.Any,
    age: typing.Any,
    *,
    allow_empty: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x, t_x, T)`` as float arrays after checking them."""
    x = _as_1d_float(frequency, "frequency")
    t_x = _as_1d_float(recency, "recency")
    T = _as_1d_float(age, "age")
    if not len(x) == len(t_x) == len(T):
        raise ValueError(
            "frequency, recency and age must have the same length "
            f"(got {len(x)}, {len(t_x)} and {len(T)})"
        )
    if not allow_empty and len(x) == 0:
        raise ValueError("cannot fit the BG/NBD model on empty data")
    if np.any(x < 0):
        raise ValueError("frequency must be non-negative")
    if np.any(x != np.floor(x)):
        raise ValueError("frequency must contain whole numbers of repeat purchases")
    if np.any(t_x < 0):
        raise ValueError("recency must be non-negative")
    if np.any(T < 0):
        raise ValueError("age must be non-negative")
    excess = t_x - T
    if np.any(excess > _RECENCY_TOLERANCE * np.maximum(T, 1.0)):
        raise ValueError("recency must not exceed age (t_x <= T)")
    # Absorb floating-point noise, and drop the (meaningless) recency of
    # customers without repeat purchases.
    t_x = np.where(x > 0, np.minimum(t_x, T), 0.0)
    return x, t_x, T


def _validate_weights(weights: typing.Any, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = _as_1d_float(weights, "weights")
    if len(w) != n:
        raise ValueError(f"weights must have length {n}, got {len(w)}")
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    return w


def _validate_params(params: typing.Any) -> BgNbdParams:
    try:
        r, alpha, a, b = (float(v) for v in params)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"params must be four numbers (r, alpha, a, b): {exc}"
        ) from exc
    values = np.array([r, alpha, a, b])
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(
            f"BG/NBD parameters must be finite and positive, got {(r, alpha, a, b)}"
        )
    return BgNbdParams(r, alpha, a, b)


# ---------------------------------------------------------------------------
# Likelihood
# ---------------------------------------------------------------------------


class _Profiles(typing.NamedTuple):
    """Customer profiles prepared for repeated likelihood evaluations."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    x_values: np.ndarray  # sorted distinct frequencies
    x_index: np.ndarray  # position of each row's frequency in x_values
    # Rows with x > 0: a slice when they are contiguous (sorted data), else
    # an index array.
    repeat: slice | np.ndarray


def _profiles(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> _Profiles:
    x_values, x_index = np.unique(x, return_inverse=True)
    repeat = np.flatnonzero(x > 0)
    if len(repeat) == 0 or repeat[-1] - repeat[0] + 1 == len(repeat):
        start = int(repeat[0]) if len(repeat) else len(x)
        repeat = slice(start, start + len(repeat))
    return _Profiles(x, t_x, T, x_values, np.asarray(x_index).ravel(), repeat)


def _frequency_terms(
    r: float, a: float, b: float, x_values: np.ndarray, with_grad: bool
) -> tuple[np.ndarray, ...]:
    """Likelihood terms that depend on the frequency only, per distinct ``x``.

    Returns ``ln_rate = ln Gamma(r + x) - ln Gamma(r)`` and
    ``ln_beta = ln B(a, b + x) - ln B(a, b)`` and, with ``with_grad``, their
    derivatives ``d ln_rate / dr``, ``d ln_beta / da`` and ``d ln_beta / db``.
    Since ``x`` is a whole number these are finite sums (``Gamma(z + 1) =
    z Gamma(z)``), which stay accurate when ``a`` and ``b`` are very large
    (no difference of huge log-gamma values); the sums are tabulated once up
    to the largest frequency.
    """
    idx = x_values.astype(np.int64)
    top = int(idx[-1]) if len(idx) else 0
    if top <= _MAX_TABLE_FREQUENCY:
        k = np.arange(top, dtype=float)

        def table(terms: np.ndarray) -> np.ndarray:
            return np.concatenate(([0.0], np.cumsum(terms)))[idx]

        out = [table(np.log(r + k)), table(-np.log1p(a / (b + k)))]
        if with_grad:
            out += [
                table(1.0 / (r + k)),
                table(-1.0 / (a + b + k)),
                table(a / ((b + k) * (a + b + k))),
            ]
        return tuple(out)
    # Absurdly large purchase counts: use the special functions directly.
    gammaln, digamma = special.gammaln, special.digamma
    out = [
        gammaln(r + x_values) - gammaln(r),
        gammaln(a + b) + gammaln(b + x_values) - gammaln(b) - gammaln(a + b + x_values),
    ]
    if with_grad:
        psi_ab_x = digamma(a + b) - digamma(a + b + x_values)
        out += [
            digamma(r + x_values) - digamma(r),
            psi_ab_x,
            psi_ab_x + digamma(b + x_values) - digamma(b),
        ]
    return tuple(out)


def _loglik_and_grad(
    r: float,
    alpha: float,
    a: float,
    b: float,
    data: _Profiles,
    with_grad: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-customer log-likelihood and its gradient w.r.t. log-parameters.

    With ``B(., .)`` the beta function, the individual likelihood (eq. 6 of
    the paper) is::

        L = Gamma(r + x) alpha^r / Gamma(r) * B(a, b + x) / B(a, b)
            * [ (alpha + T)^-(r + x)
                + [x > 0] a / (b + x - 1) * (alpha + t_x)^-(r + x) ]

    and the bracket is evaluated with a log-sum-exp.
    """
    x, t_x, T = data.x, data.t_x, data.T
    terms = _frequency_terms(r, a, b, data.x_values, with_grad)
    terms = [term[data.x_index] for term in terms]
    # alpha^r (alpha + s)^-(r + x) = exp(-r log1p(s / alpha) - x log(alpha + s)),
    # which stays accurate when r and alpha are both very large.
    log1p_T = np.log1p(T / alpha)
    log_alpha_T = np.log(alpha + T)
    ln_3 = -r * log1p_T - x * log_alpha_T
    # The second term only exists for customers with repeat purchases.
    rep = data.repeat
    x_r, t_r = x[rep], t_x[rep]
    b_x1 = b + (x_r - 1.0)
    log1p_tx = np.log1p(t_r / alpha)
    log_alpha_tx = np.log(alpha + t_r)
    ln_4 = np.log(a) - np.log(b_x1) - r * log1p_tx - x_r * log_alpha_tx
    ln_sum = ln_3.copy()
    ln_sum[rep] = np.logaddexp(ln_3[rep], ln_4)
    loglik = terms[0] + terms[1] + ln_sum
    if not with_grad:
        return loglik, None

    # Posterior weights of the two terms of the bracket (w3 = 1 - w4).
    w4 = np.exp(ln_4 - ln_sum[rep])
    # Derivatives w.r.t. the log-parameters (chain rule included).
    d_r = terms[2] - log1p_T
    d_r[rep] += w4 * (log1p_T[rep] - log1p_tx)
    d_r *= r
    term_T = (r * T - x * alpha) / (alpha + T)
    d_alpha = term_T.copy()
    d_alpha[rep] += w4 * ((r * t_r - x_r * alpha) / (alpha + t_r) - term_T[rep])
    d_a = a * terms[3]
    d_a[rep] += w4
    d_b = terms[4]
    d_b[rep] -= w4 / b_x1
    d_b *= b
    grad = np.stack([d_r, d_alpha, d_a, d_b], axis=1)
    return loglik, grad


def log_likelihood(
    params: BgNbdParams,
    frequency: typing.Any,
    recency: typing.Any,
    age: typing.Any,
    weights: typing.Any = None,
) -> float:
    """Total (weighted) BG/NBD log-likelihood of the data under ``params``."""
    r, alpha, a, b = _validate_params(params)
    x, t_x, T = _validate_data(frequency, recency, age, allow_empty=True)
    w = _validate_weights(weights, len(x))
    if len(x) == 0:
        return 0.0
    loglik, _ = _loglik_and_grad(r, alpha, a, b, _profiles(x, t_x, T), False)
    return float(np.dot(w, loglik))


# ---------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------


def _floor_same_period(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Give repeat purchases made at time 0 a small positive recency.

    For ``x > 0`` the likelihood is a density in ``t_x``; with ``t_x == 0``
    (repeat purchases on the day of the first one) its second term grows
    like ``alpha^-x`` as ``alpha -> 0`` and the maximum-likelihood estimate
    degenerates.  Such times are therefore treated as known only to the
    resolution of the data: they are raised to half the smallest positive
    time value present (but at least ``5e-4 * mean(age)``), and ``age`` is
    raised to match where needed.
    """
    same_period = (x > 0) & (t_x <= 0)
    if not np.any(same_period):
        return t_x, T
    times = np.concatenate([t_x[t_x > 0], T[T > 0]])
    resolution = float(times.min()) if len(times) else 1.0
    floor = 0.5 * max(resolution, 1e-3 * float(T.mean()))
    t_x = np.where(same_period, floor, t_x)
    return t_x, np.maximum(T, t_x)


def _collapse(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge identical ``(x, t_x, T)`` rows, summing their weights."""
    order = np.lexsort((T, t_x, x))
    x, t_x, T, w = x[order], t_x[order], T[order], w[order]
    first = np.ones(len(x), dtype=bool)
    first[1:] = (np.diff(x) != 0) | (np.diff(t_x) != 0) | (np.diff(T) != 0)
    group = np.cumsum(first) - 1
    u_w = np.bincount(group, weights=w)
    keep = u_w > 0
    return x[first][keep], t_x[first][keep], T[first][keep], u_w[keep]


def fit(
    frequency: typing.Any,
    recency: typing.Any,
    age: typing.Any,
    weights: typing.Any = None,
    penalizer: float = 0.0,
) -> BgNbdParams:
    """Maximum-likelihood estimate of the BG/NBD parameters.

    Identical ``(frequency, recency, age)`` rows are collapsed first, so the
    cost depends on the number of distinct customer profiles.  The optimiser
    (L-BFGS-B with the analytic gradient, Nelder-Mead as a fallback) works
    on log-parameters, with times rescaled by the mean age so that all
    parameters are dimensionless; ``alpha`` is returned in the unit of the
    input.

    ``weights`` (optional, non-negative) multiply each customer's
    log-likelihood.  ``penalizer`` (``>= 0``) adds an L2 penalty
    ``penalizer * sum(log(params) ** 2)`` (with ``alpha`` measured in units of
    the mean age) to the mean negative log-likelihood per customer; it pulls
    the estimate towards ``r = a = b = 1``, ``alpha = mean(age)`` and helps
    with small or degenerate data sets.

    Raises ``ValueError`` on invalid input or when the optimiser does not
    reach a finite optimum (e.g. data without any repeat purchase, for which
    the maximum-likelihood estimate does not exist; a positive ``penalizer``
    usually fixes that).

    Repeat purchases recorded at ``recency == 0`` (same period as the first
    purchase) make the likelihood unbounded; for the fit their recency is
    set to half the data's time resolution (see ``_floor_same_period``).
    ``log_likelihood`` and the prediction functions use the values as given.
    """
    x, t_x, T = _validate_data(frequency, recency, age, allow_empty=False)
    w = _validate_weights(weights, len(x))
    try:
        penalizer = float(penalizer)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"penalizer must be a number: {exc}") from exc
    if not np.isfinite(penalizer) or penalizer < 0:
        raise ValueError("penalizer must be a finite non-negative number")
    total_weight = float(w.sum())
    if not total_weight > 0:
        raise ValueError("the sum of the weights must be positive")
    if penalizer == 0 and not np.any((x > 0) & (w > 0)):
        raise ValueError(
            "cannot fit the BG/NBD model: no customer has a repeat purchase "
            "(frequency > 0); use a positive penalizer"
        )

    t_x, T = _floor_same_period(x, t_x, T)
    u_x, u_tx, u_T, u_w = _collapse(x, t_x, T, w)
    # Work in units of the (weighted) mean age so that alpha is O(1).
    scale = float(np.dot(u_w, u_T) / total_weight)
    if not scale > 0:
        scale = 1.0
    data = _profiles(u_x, u_tx / scale, u_T / scale)
    u_w = u_w / total_weight

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(theta)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loglik, grad = _loglik_and_grad(r, alpha, a, b, data, True)
            value = -float(np.dot(u_w, loglik))
            gradient = -(u_w @ grad)
        value += penalizer * float(np.dot(theta, theta))
        gradient = gradient + 2.0 * penalizer * theta
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            # Let the line search back off from numerically invalid regions.
            return np.inf, np.zeros_like(theta)
        return value, gradient

    theta0 = np.zeros(4)
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * 4
    result = optimize.minimize(
        objective,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
    )
    converged = bool(result.success) and np.all(np.isfinite(result.x))
    if not converged and np.all(np.isfinite(result.x)):
        # L-BFGS-B often stops on a line-search failure when it cannot make
        # progress any more; accept the point if it is stationary.
        value, gradient = objective(result.x)
        converged = (
            np.isfinite(value) and np.max(np.abs(gradient)) < _GRADIENT_TOLERANCE
        )
    if not converged:
        # Polish with a derivative-free method before giving up.
        start = result.x if np.all(np.isfinite(result.x)) else theta0
        result = optimize.minimize(
            lambda theta: objective(theta)[0],
            start,
            method="Nelder-Mead",
            bounds=bounds,
            options={
                "maxiter": 4000,
                "maxfev": 8000,
                "xatol": 1e-8,
                "fatol": 1e-12,
            },
        )
        if not result.success or not np.all(np.isfinite(result.x)):
            raise ValueError(f"BG/NBD fit did not converge: {result.message}")
    theta = np.asarray(result.x, dtype=float)
    # Upper bounds and the bounds of a and b are legitimate limits of the
    # model (no heterogeneity in the purchase rate or in the dropout
    # probability, no dropout at all) and are returned as such; r or alpha
    # collapsing to 0 is a degenerate fit.
    if np.any(theta[:2] <= -_LOG_BOUND + 1e-3):
        raise ValueError(
            "BG/NBD fit did not converge to a finite optimum (r or alpha "
            "collapsed to 0, which happens with too few customers or repeat "
            "purchases); use a positive penalizer"
        )
    r, alpha, a, b = np.exp(theta)
    return BgNbdParams(float(r), float(alpha * scale), float(a), float(b))


# ---------------------------------------------------------------------------
# Predictions
# ---------------------------------------------------------------------------


def _log_odds_dead(
    params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """``log(a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x))``.

    Only meaningful where ``x > 0``; ``-inf`` elsewhere.
    """
    r, alpha, a, b = params
    positive = x > 0
    b_x1 = b + np.where(positive, x - 1.0, 0.0)
    log_ratio = np.log1p((T - t_x) / (alpha + t_x))
    return np.where(positive, np.log(a) - np.log(b_x1) + (r + x) * log_ratio, -np.inf)


def probability_alive(
    params: BgNbdParams,
    frequency: typing.Any,
    recency: typing.Any,
    age: typing.Any,
) -> np.ndarray:
    """Probability that each customer is still active at the end of the period.

    ``P(alive) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha +
    t_x))^(r + x))`` (Fader, Hardie and Lee's note "Computing P(alive) using
    the BG/NBD model"), evaluated in log space.  Customers without repeat
    purchases are alive with probability 1 under the model.
    """
    params = _validate_params(params)
    x, t_x, T = _validate_data(frequency, recency, age, allow_empty=True)
    return special.expit(-_log_odds_dead(params, x, t_x, T))


def _expected_if_alive(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: np.ndarray,
    T: np.ndarray,
    t: np.ndarray,
) -> np.ndarray:
    """First two factors of eq. 10 (expectation given the customer is alive).

    ``(a + b + x - 1) / (a - 1) * [1 - ((alpha + T) / (alpha + T + t))^(r + x)
    * 2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))]``, with the
    bracket evaluated through Euler's transformation
    ``(1 - z)^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z)``, which
    avoids the large power and hyp2f1 overflows for frequent buyers.
    Undefined for ``a == 1`` (removable singularity, see the caller).
    """
    c = a + b + (x - 1.0)
    z = t / (alpha + T + t)
    log_one_minus_z = np.log(alpha + T) - np.log(alpha + T + t)
    hyp = special.hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
    log_pow = (a - 1.0) * log_one_minus_z
    # 1 - (1 - z)^(a - 1) * hyp, with expm1 for accuracy at small t; hyp can
    # only be <= 0 when c < 0 (no repeat purchase and a + b < 1).
    positive = hyp > 0
    bracket = np.where(
        positive,
        -np.expm1(log_pow + np.log(np.where(positive, hyp, 1.0))),
        1.0 - np.exp(log_pow) * hyp,
    )
    bad = ~np.isfinite(bracket)
    if np.any(bad):
        # Fall back on the untransformed expression (eq. 10 as printed).
        r_x = r + x[bad]
        direct = special.hyp2f1(r_x, b + x[bad], c[bad], z[bad])
        bracket[bad] = 1.0 - np.exp(r_x * log_one_minus_z[bad]) * direct
    value = c / (a - 1.0) * bracket
    bad = ~(np.isfinite(value) & (value >= 0))
    if np.any(bad):
        # hyp2f1 fails for extreme parameters (e.g. r and alpha huge, the
        # Poisson limit of the gamma mixture): integrate numerically.
        value[bad] = _expected_if_alive_quadrature(
            r, alpha, a, b, x[bad], T[bad], t[bad]
        )
    return value


def _expected_if_alive_quadrature(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: np.ndarray,
    T: np.ndarray,
    t: np.ndarray,
) -> np.ndarray:
    """Same quantity as ``_expected_if_alive`` by Gauss-Jacobi quadrature.

    Given that the customer is alive, ``lambda ~ Gamma(r + x, alpha + T)``
    and ``p ~ Beta(a, b + x)`` independently, and ``E[Y(t) | lambda, p] =
    (1 - exp(-lambda p t)) / p``, hence ``E = E_p[(1 - ((alpha + T) / (alpha
    + T + p t))^(r + x)) / p]``, a smooth integrand against a beta weight.
    """
    out = np.full(len(x), np.nan)
    for value in np.unique(x):
        rows = x == value
        nodes, weights = special.roots_jacobi(
            _QUADRATURE_NODES, b + (value - 1.0), a - 1.0
        )
        p = (1.0 + nodes) / 2.0
        ratio = t[rows, None] * p / (alpha + T[rows, None])
        integrand = -np.expm1(-(r + value) * np.log1p(ratio)) / p
        out[rows] = integrand @ weights / weights.sum()
    return out


def expected_purchases(
    params: BgNbdParams,
    t: typing.Any,
    frequency: typing.Any,
    recency: typing.Any,
    age: typing.Any,
) -> np.ndarray:
    """Conditional expected number of purchases in the next ``t`` periods.

    Eq. 10 of the paper::

        E[Y(t) | x, t_x, T] = (a + b + x - 1) / (a - 1)
            * [1 - ((alpha + T) / (alpha + T + t))^(r + x)
                   * 2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))]
            * P(alive | x, t_x, T)

    ``t`` is a non-negative scalar or an array broadcastable to the
    customers, in the time unit of the data.  The expression is valid for
    any ``a > 0`` (fits with ``a < 1`` are common, e.g. ``a = 0.793`` on the
    paper's CDNOW data); the removable singularity at ``a = 1`` is bridged by
    linear interpolation between ``a = 1 -/+ 1e-5``.  Non-finite or negative
    numerical results are clipped to 0.
    """
    params = _validate_params(params)
    r, alpha, a, b = params
    x, t_x, T = _validate_data(frequency, recency, age, allow_empty=True)
    try:
        t_arr = np.asarray(t, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"t must be numeric: {exc}") from exc
    if not np.all(np.isfinite(t_arr)) or np.any(t_arr < 0):
        raise ValueError("t must be finite and non-negative")
    try:
        t_arr = np.broadcast_to(t_arr, x.shape)
    except ValueError as exc:
        raise ValueError(
            f"t (shape {t_arr.shape}) does not match the {len(x)} customers"
        ) from exc

    with np.errstate(all="ignore"):
        if abs(a - 1.0) < _A_ONE_STEP:
            low = _expected_if_alive(r, alpha, 1.0 - _A_ONE_STEP, b, x, T, t_arr)
            high = _expected_if_alive(r, alpha, 1.0 + _A_ONE_STEP, b, x, T, t_arr)
            frac = (a - (1.0 - _A_ONE_STEP)) / (2.0 * _A_ONE_STEP)
            if_alive = low + frac * (high - low)
        else:
            if_alive = _expected_if_alive(r, alpha, a, b, x, T, t_arr)
        p_alive = special.expit(-_log_odds_dead(params, x, t_x, T))
        result = if_alive * p_alive
    return np.where(np.isfinite(result) & (result > 0), result, 0.0)
