"""Customer lifetime value: BG/NBD (Fader, Hardie & Lee 2005) and Gamma–Gamma (Fader & Hardie 2013).

Both models are fitted by maximum likelihood over log-parameters with `scipy.optimize.minimize`
(L-BFGS-B with the analytic gradient), on vectorised NumPy log-likelihoods. Customers with the same
(frequency, recency, age) are fitted once with a weight, which is what makes a million customers cheap.

Inputs per customer, in one time unit (days or weeks, the caller's choice):
`frequency` x = repeat purchases (purchases after the first), `recency` t_x = age at the last purchase
measured from the first, `T` = age at the end of the observation period measured from the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, hyp2f1

Array = NDArray[np.float64]


@dataclass(frozen=True)
class BetaGeoParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float  # γ in Fader & Hardie's note


def _as_arrays(*values: ArrayLike) -> list[Array]:
    return [np.asarray(v, dtype=np.float64) for v in values]


def _compress(*columns: Array) -> tuple[list[Array], Array]:
    """Unique rows of the given columns and how often each occurs (the likelihood's weights).

    A lexicographic sort and a boundary scan: `np.unique(axis=0)` takes ~40 s on a million rows.
    """
    n = columns[0].size
    order = np.lexsort(columns[::-1])
    ordered = [c[order] for c in columns]
    changed = np.zeros(max(n - 1, 0), dtype=bool)
    for c in ordered:
        changed |= c[1:] != c[:-1]
    starts = np.concatenate([[0], np.flatnonzero(changed) + 1]) if n else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.concatenate([starts, [n]])).astype(np.float64)
    return [c[starts] for c in ordered], counts


def bgnbd_loglik(params: BetaGeoParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Array:
    """Per-customer log-likelihood of the BG/NBD model (equation 6 of Fader, Hardie & Lee 2005)."""
    x, tx, t = _as_arrays(frequency, recency, T)
    ll, _grad = _bgnbd_ll_grad(np.log([params.r, params.alpha, params.a, params.b]), x, tx, t, want_grad=False)
    return ll


def _bgnbd_ll_grad(
    log_params: Array, x: Array, tx: Array, T: Array, *, want_grad: bool = True
) -> tuple[Array, Array | None]:
    r, alpha, a, b = np.exp(log_params)
    repeat = x > 0
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    log_at = np.log(alpha + T)
    log_atx = np.log(alpha + tx)
    a3 = -(r + x) * log_at
    bx1 = np.where(repeat, b + x - 1, 1.0)
    a4 = np.where(repeat, np.log(a) - np.log(bx1) - (r + x) * log_atx, -np.inf)
    mix = np.logaddexp(a3, a4)
    ll = a1 + a2 + mix
    if not want_grad:
        return ll, None
    w3 = np.exp(a3 - mix)
    w4 = np.where(repeat, np.exp(a4 - mix), 0.0)
    dig_ab, dig_abx = digamma(a + b), digamma(a + b + x)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * log_at - w4 * log_atx
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + tx)
    d_a = dig_ab - dig_abx + w4 / a
    d_b = dig_ab + digamma(b + x) - digamma(b) - dig_abx - w4 / bx1
    grad = np.stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return ll, grad


def bgnbd_fit(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BetaGeoParams:
    """Maximum-likelihood BG/NBD parameters for the customers given."""
    x, tx, t = _as_arrays(frequency, recency, T)
    if x.size == 0:
        raise ValueError("no customers to fit")
    if np.any(x < 0) or np.any(tx < 0) or np.any(tx > t) or np.any((x > 0) & (tx <= 0)):
        raise ValueError("need frequency ≥ 0, 0 ≤ recency ≤ T, and recency > 0 for repeat buyers")
    (x, tx, t), w = _compress(x, tx, t)
    total = w.sum()

    def objective(theta: Array) -> tuple[float, Array]:
        ll, grad = _bgnbd_ll_grad(theta, x, tx, t)
        assert grad is not None
        return -float(w @ ll) / total, -(grad @ w) / total

    start = np.log([1.0, max(float(np.average(t, weights=w)), 1e-3), 1.0, 1.0])
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=[(-12, 12)] * 4, options={"gtol": 1e-9})
    r, alpha, a, b = np.exp(result.x)
    return BetaGeoParams(float(r), float(alpha), float(a), float(b))


def bgnbd_probability_alive(params: BetaGeoParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Array:
    """P(still active at T) for each customer (equation 11 of the 2005 paper)."""
    x, tx, t = _as_arrays(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    bx1 = np.where(x > 0, b + x - 1, 1.0)
    log_ratio = np.log(a) - np.log(bx1) + (r + x) * (np.log(alpha + t) - np.log(alpha + tx))
    return np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)


def bgnbd_expected_purchases(
    params: BetaGeoParams, horizon: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> Array:
    """Expected purchases in the next `horizon` time units for each customer (equation 10)."""
    x, tx, t = _as_arrays(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if horizon <= 0:
        return np.zeros_like(x)
    z = horizon / (alpha + t + horizon)
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
    first = (a + b + x - 1) / (a - 1)
    second = 1 - np.exp((r + x) * (np.log(alpha + t) - np.log(alpha + t + horizon))) * hyp
    bx1 = np.where(x > 0, b + x - 1, 1.0)
    denom = 1 + np.where(
        x > 0, np.exp(np.log(a) - np.log(bx1) + (r + x) * (np.log(alpha + t) - np.log(alpha + tx))), 0.0
    )
    return np.asarray(first * second / denom, dtype=np.float64)


def gamma_gamma_loglik(params: GammaGammaParams, frequency: ArrayLike, monetary: ArrayLike) -> Array:
    """Per-customer log-likelihood of the mean spend m̄ over x transactions (Fader & Hardie 2013, eq. 4)."""
    x, m = _as_arrays(frequency, monetary)
    ll, _grad = _gg_ll_grad(np.log([params.p, params.q, params.v]), x, m, want_grad=False)
    return ll


def _gg_ll_grad(log_params: Array, x: Array, m: Array, *, want_grad: bool = True) -> tuple[Array, Array | None]:
    p, q, v = np.exp(log_params)
    px = p * x
    log_vmx = np.log(v + m * x)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_vmx
    )
    if not want_grad:
        return ll, None
    dig = digamma(px + q)
    d_p = x * (dig - digamma(px) + np.log(m) + np.log(x) - log_vmx)
    d_q = dig - digamma(q) + np.log(v) - log_vmx
    d_v = q / v - (px + q) / (v + m * x)
    return ll, np.stack([d_p * p, d_q * q, d_v * v])


def gamma_gamma_fit(frequency: ArrayLike, monetary: ArrayLike) -> GammaGammaParams:
    """Maximum-likelihood Gamma–Gamma parameters from repeat buyers (frequency > 0, mean spend > 0)."""
    x, m = _as_arrays(frequency, monetary)
    keep = (x > 0) & (m > 0)
    if not keep.any():
        raise ValueError("no repeat buyers with a positive spend to fit")
    (x, m), w = _compress(x[keep], m[keep])
    total = w.sum()

    def objective(theta: Array) -> tuple[float, Array]:
        ll, grad = _gg_ll_grad(theta, x, m)
        assert grad is not None
        return -float(w @ ll) / total, -(grad @ w) / total

    start = np.log([1.0, 1.0, max(float(np.average(m, weights=w)), 1e-3)])
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=[(-12, 12)] * 3, options={"gtol": 1e-9})
    p, q, v = np.exp(result.x)
    return GammaGammaParams(float(p), float(q), float(v))


def gamma_gamma_expected_spend(params: GammaGammaParams, frequency: ArrayLike, monetary: ArrayLike) -> Array:
    """E[spend per transaction | x, m̄]; customers without repeat purchases get the population mean."""
    x, m = _as_arrays(frequency, monetary)
    p, q, v = params.p, params.q, params.v
    population = p * v / (q - 1) if q > 1 else np.nan
    return np.where(x > 0, (v + m * x) * p / (p * x + q - 1), population)


def customer_lifetime_value(
    bgnbd: BetaGeoParams,
    gg: GammaGammaParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary: ArrayLike,
    *,
    months: int = 12,
    days_per_unit: float = 1.0,
    monthly_discount: float = 0.01,
) -> Array:
    """Discounted value over `months`: expected purchases each month × expected spend, discounted monthly."""
    x, tx, t, m = _as_arrays(frequency, recency, T, monetary)
    spend = gamma_gamma_expected_spend(gg, x, m)
    value = np.zeros_like(x)
    previous = np.zeros_like(x)
    unit_per_month = 30.0 / days_per_unit
    for month in range(1, months + 1):
        cumulative = bgnbd_expected_purchases(bgnbd, month * unit_per_month, x, tx, t)
        value += (cumulative - previous) * spend / (1 + monthly_discount) ** month
        previous = cumulative
    return value


def bgnbd_simulate(params: BetaGeoParams, n: int, *, T: float, seed: int = 0) -> tuple[Array, Array, Array]:
    """Draw (frequency, recency, T) for `n` customers from the BG/NBD process (benchmarks and tests)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    frequency = np.zeros(n)
    recency = np.zeros(n)
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1.0 / lam[idx])
        arrived = idx[now[idx] <= T]
        alive[:] = False
        alive[arrived] = True
        frequency[arrived] += 1
        recency[arrived] = now[arrived]
        # after each purchase the customer drops out with probability p
        drops = arrived[rng.random(arrived.size) < p[arrived]]
        alive[drops] = False
    return frequency, recency, np.full(n, float(T))
