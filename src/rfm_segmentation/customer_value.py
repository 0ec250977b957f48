"""Customer value: how likely a customer is still active, how many purchases to expect
over a horizon and what they are worth.

Two published models, fitted by maximum likelihood on one row per customer:

- BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") on
  ``x`` repeat purchases, ``t_x`` the time of the last one and ``T`` the time since
  the first purchase, all counted from the first purchase in one time unit;
- Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie, "The
  Gamma-Gamma Model of Monetary Value") on ``m_x``, the mean value of a repeat
  buyer's repeat purchases; it assumes spend independent of purchase frequency.

Expected value over a horizon is expected purchases times expected spend per
purchase, undiscounted. Both are plain numpy/scipy, vectorised: a likelihood
evaluation touches each customer a few times (terms in ``x`` alone are computed once
per distinct ``x``, customers without repeat purchases have a one-term likelihood),
so fitting both models to 1M customers and scoring them takes about 2 s on the
project's 2-core machine (``python -m benchmarks.customer_value``). scipy is a
dependency already; lifetimes and btyd are archived, and PyMC-Marketing fits these
models with PyMC on PyTensor, a far heavier install with a compile step, for two
likelihoods of a few lines each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

LOG_BOUND = 15.0  # |log parameter| on data rescaled to mean 1; beyond, a degenerate fit
CONCENTRATED = 100.0  # a - 1 and b from which _concentrated_2f1 is accurate (~1e-4)


class NotEstimable(ValueError):
    """The data cannot identify a model's parameters (no repeat purchases, or spend
    too heavy-tailed for a finite mean): a property of the shop, not an error."""


@dataclass(frozen=True)
class BgNbdFit:
    """BG/NBD estimates: purchase rates ~ Gamma(r, rate alpha) in purchases per time
    unit, dropout after each purchase ~ Beta(a, b). Standard errors are nan where the
    data do not identify the parameters (a singular Hessian)."""

    r: float
    alpha: float
    a: float
    b: float
    standard_errors: dict[str, float]
    log_likelihood: float
    n_customers: int

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> NDArray:
        """P(still active at T | x, t_x, T); 1 without repeat purchases, as the model
        lets customers drop out only after a repeat purchase."""
        x, t_x, T = _customers(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        log_odds = (
            np.log(a)
            - np.log(b + np.maximum(x, 1) - 1)
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        return np.where(x > 0, expit(-log_odds), 1.0)

    def expected_purchases(
        self, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
    ) -> NDArray:
        """E[purchases in (T, T + t] | x, t_x, T]: formula (10) of the paper, its
        ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z) written by Euler's
        transformation as (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), which stays
        bounded however large x is (the original overflows). scipy's 2F1 fails
        there when r - a is a whole number (c - a - b is then one) or a and b run
        into the thousands (fits on a handful of customers): then by Pfaff's
        transformation, 2F1(r+x, a-1; a+b+x-1; -t/(alpha+T)), and where that fails
        too with a and b in the hundreds or more (dropout nearly the same for
        everyone: the fit's a and b grow without bound), by the expansion of
        ``_concentrated_2f1``. Undefined at a = 1."""
        if not (np.isfinite(t) and t >= 0):
            raise ValueError(f"the horizon t must be a finite number >= 0, got {t}")
        x, t_x, T = _customers(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z, s = t / (alpha + T + t), t / (alpha + T)
        with np.errstate(invalid="ignore", over="ignore"):
            euler = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
            purchases = (a + b + x - 1) / (a - 1) * (1 - euler)
            failed = ~(purchases >= 0) | np.isinf(purchases)
            k = x[failed]
            pfaff = hyp2f1(r + k, a - 1, a + b + k - 1, -s[failed])
            purchases[failed] = (a + b + k - 1) / (a - 1) * (1 - pfaff)
            failed = ~(purchases >= 0) | np.isinf(purchases)
            if failed.any() and min(a - 1, b) >= CONCENTRATED:
                k = x[failed]
                near = _concentrated_2f1(r + k, a - 1, a + b + k - 1, -s[failed])
                purchases[failed] = (a + b + k - 1) / (a - 1) * (1 - near)
        failed = ~(purchases >= 0) | np.isinf(purchases)
        if failed.any():
            raise ValueError(
                f"expected purchases cannot be computed at r = {r:.4g}, a = {a:.4g}, "
                f"b = {b:.4g} for {failed.sum()} customers (scipy's 2F1 fails there); "
                "a fit on more customers or a shorter horizon should avoid them"
            )
        return purchases * self.p_alive(x, t_x, T)


@dataclass(frozen=True)
class GammaGammaFit:
    """Gamma-Gamma estimates: a transaction's value ~ Gamma(p, rate nu), a customer's
    nu ~ Gamma(q, rate v); v is in money units."""

    p: float
    q: float
    v: float
    standard_errors: dict[str, float]
    log_likelihood: float
    n_repeat_buyers: int

    def expected_spend(self, x: ArrayLike, m_x: ArrayLike) -> NDArray:
        """E[value of a future purchase | x, m_x]: the posterior mean, a weighted
        average of the population mean v p / (q - 1) and the customer's own m_x,
        the population mean alone for x = 0 (m_x is then ignored)."""
        x, m_x = _spends(x, m_x)
        p, q, v = self.p, self.q, self.v
        weight = p * x / (p * x + q - 1)
        return (1 - weight) * v * p / (q - 1) + weight * np.where(x > 0, m_x, 0.0)


def expected_value(
    bg_nbd: BgNbdFit,
    gamma_gamma: GammaGammaFit,
    t: float,
    *,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    m_x: ArrayLike,
) -> NDArray:
    """Expected value of each customer's purchases in the next ``t`` time units:
    expected purchases times expected spend per purchase, without discounting."""
    return bg_nbd.expected_purchases(t, x, t_x, T) * gamma_gamma.expected_spend(x, m_x)


def _concentrated_2f1(A: NDArray, B: float, C: NDArray, w: NDArray) -> NDArray:
    """2F1(A, B; C; w) as E[(1 - w u)^-A] for u ~ Beta(B, C - B) (Euler's integral),
    expanded to second order about u's mean: relative error O(1/C^2), small once B
    and C - B are in the hundreds, where scipy's 2F1 returns nan."""
    mean = B / C
    variance = mean * (1 - mean) / (C + 1)
    g = 1 - w * mean
    return g**-A * (1 + A * (A + 1) * w**2 * variance / (2 * g**2))


def bg_nbd_log_likelihood(
    params: tuple[float, float, float, float],
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
) -> NDArray:
    """Each customer's BG/NBD log-likelihood at ``params`` = (r, alpha, a, b),
    equation (6) of the paper."""
    data = _BgNbdData(*_customers(x, t_x, T))
    ll = np.empty(data.n)
    ll[data.order] = _bg_nbd(np.log(params), data)[0]
    return ll


def gamma_gamma_log_likelihood(
    params: tuple[float, float, float], x: ArrayLike, m_x: ArrayLike
) -> NDArray:
    """Each repeat buyer's log-density of m_x given x at ``params`` = (p, q, v);
    x >= 1 only."""
    x, m_x = _spends(x, m_x)
    if (x < 1).any():
        raise ValueError("the Gamma-Gamma likelihood is defined for x >= 1 only")
    return _gamma_gamma(np.log(params), _SpendData(x, m_x))[0]


def fit_bg_nbd(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> BgNbdFit:
    """Maximum-likelihood BG/NBD fit; times are rescaled to mean T = 1 inside."""
    x, t_x, T = _customers(x, t_x, T)
    if not (x > 0).any():
        raise NotEstimable(
            "no customer made a repeat purchase (every x is 0), so purchase and "
            "dropout rates cannot be estimated"
        )
    scale = T.mean()
    data = _BgNbdData(x, t_x / scale, T / scale)
    start = np.log([1.0, len(x) / x.sum(), 1.0, 3.0])  # rate: mean x / mean T
    (r, alpha, a, b), se = _maximise(_bg_nbd, data, start, [1, scale, 1, 1])
    return BgNbdFit(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        standard_errors=dict(zip(("r", "alpha", "a", "b"), se, strict=True)),
        log_likelihood=float(bg_nbd_log_likelihood((r, alpha, a, b), x, t_x, T).sum()),
        n_customers=len(x),
    )


def fit_gamma_gamma(x: ArrayLike, m_x: ArrayLike) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit on the repeat buyers (x >= 1) among the
    customers given; values are rescaled to mean m_x = 1 inside."""
    x, m_x = _spends(x, m_x)
    buyers = x > 0
    if not buyers.any():
        raise NotEstimable(
            "no repeat buyers (x >= 1): the spend model needs at least one"
        )
    x, m_x = x[buyers], m_x[buyers]
    scale = m_x.mean()
    data = _SpendData(x, m_x / scale)
    (p, q, v), se = _maximise(_gamma_gamma, data, np.zeros(3), [1, 1, scale])
    if q <= 1:
        raise NotEstimable(
            f"spend is too heavy-tailed for the Gamma-Gamma model (q = {q:.3g} <= 1: "
            "the average purchase value would have no finite mean)"
        )
    return GammaGammaFit(
        p=p,
        q=q,
        v=v,
        standard_errors=dict(zip(("p", "q", "v"), se, strict=True)),
        log_likelihood=float(gamma_gamma_log_likelihood((p, q, v), x, m_x).sum()),
        n_repeat_buyers=len(x),
    )


class _Levels:
    """The distinct values of x, so that terms in x alone are computed once each."""

    def __init__(self, x: NDArray) -> None:
        self.x, self.n = x, len(x)
        self.levels, self.index, self.counts = np.unique(
            x, return_inverse=True, return_counts=True
        )


class _BgNbdData(_Levels):
    """Repeat buyers apart from the rest (T0), whose likelihood is one term: most
    customers of a shop, so it pays. Customers alike in (x, t_x, T) are computed
    once, weighted by how many they are (``weights``, ``weights0``; a million
    customers have a few hundred thousand distinct); ``back`` and ``back0`` spread
    the values over the customers again. Per-customer values come out with the
    rest first; ``order`` holds their positions in the input."""

    def __init__(self, x: NDArray, t_x: NDArray, T: NDArray) -> None:
        repeat = x > 0
        (x1, self.t_x, self.T), self.back, self.weights = _distinct(
            x[repeat], t_x[repeat], T[repeat]
        )
        super().__init__(x1)
        self.counts = np.bincount(self.index, self.weights, len(self.levels))
        self.T0, self.back0, self.weights0 = np.unique(
            T[~repeat], return_inverse=True, return_counts=True
        )
        self.order = np.concatenate([np.flatnonzero(~repeat), np.flatnonzero(repeat)])
        self.n = len(x)


def _distinct(*columns: NDArray) -> tuple[list[NDArray], NDArray, NDArray]:
    """The distinct rows of ``columns``, where each row is among them, and how many
    rows each is (``np.unique(axis=0)``, by one lexsort: several times faster)."""
    order = np.lexsort(columns[::-1])
    ordered = [column[order] for column in columns]
    repeated = np.zeros(len(order), dtype=bool)  # the same row as the one before
    repeated[1:] = True
    for column in ordered:
        repeated[1:] &= column[1:] == column[:-1]
    starts = ~repeated
    back = np.empty(len(order), dtype=np.intp)
    back[order] = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    weights = np.diff(np.append(first, len(order)))
    return [column[first] for column in ordered], back, weights


class _SpendData(_Levels):
    def __init__(self, x: NDArray, m_x: NDArray) -> None:
        super().__init__(x)
        self.log_x, self.m_x, self.log_m = np.log(x), m_x, np.log(m_x)


def _bg_nbd(log_params: NDArray, d: _BgNbdData) -> tuple[NDArray, NDArray]:
    """Per-customer log-likelihood and the gradient of its sum in log-parameters.
    Without repeat purchases: r log(alpha / (alpha + T)). With: a term in x alone
    plus log(exp(alive) + exp(gone)), by log-sum-exp; w is gone's share."""
    r, alpha, a, b = np.exp(log_params)
    k = d.levels
    level = gammaln(r + k) - gammaln(r) + r * np.log(alpha) + betaln(a, b + k)
    level -= betaln(a, b)
    rx, log_aT, log_atx = r + d.x, np.log(alpha + d.T), np.log(alpha + d.t_x)
    gone_vs_alive = (np.log(a) - np.log(b + k - 1))[d.index] - rx * (log_atx - log_aT)
    ll = level[d.index] - rx * log_aT + np.logaddexp(0, gone_vs_alive)
    w = expit(gone_vs_alive)
    log_aT0 = np.log(alpha + d.T0)
    dlevel = np.stack(
        [
            digamma(r + k) - digamma(r),
            digamma(a + b) - digamma(a + b + k),
            digamma(a + b) + digamma(b + k) - digamma(b) - digamma(a + b + k),
        ]
    )
    gone, alive = w * d.weights, (1 - w) * d.weights  # customers, by weight
    dr, da, db = dlevel @ d.counts
    gradient = [
        dr
        + d.n * np.log(alpha)
        - log_aT0 @ d.weights0
        - alive @ log_aT
        - gone @ log_atx,
        d.n * r / alpha
        - r * (d.weights0 @ (1 / (alpha + d.T0)))
        - rx @ (alive / (alpha + d.T) + gone / (alpha + d.t_x)),
        da + gone.sum() / a,
        db - np.bincount(d.index, gone, len(k)) @ (1 / (b + k - 1)),
    ]
    ll0 = r * (np.log(alpha) - log_aT0)
    return np.concatenate([ll0[d.back0], ll[d.back]]), np.multiply(
        gradient, [r, alpha, a, b]
    )


def _gamma_gamma(log_params: NDArray, d: _SpendData) -> tuple[NDArray, NDArray]:
    """Per-buyer log-density of m_x ~ Gamma(p x, rate nu x), nu integrated out, and
    the gradient of its sum in log-parameters."""
    p, q, v = np.exp(log_params)
    k, pk = d.levels, p * d.levels
    level = gammaln(pk + q) - gammaln(pk) - gammaln(q) + q * np.log(v) + pk * np.log(k)
    px, log_vxm = p * d.x, np.log(v + d.x * d.m_x)
    ll = level[d.index] + (px - 1) * d.log_m - (px + q) * log_vxm
    gradient = [
        (k * (digamma(pk + q) - digamma(pk))) @ d.counts
        + d.x @ (d.log_x + d.log_m - log_vxm),
        (digamma(pk + q) - digamma(q) + np.log(v)) @ d.counts - log_vxm.sum(),
        q / v * len(d.x) - (px + q) @ np.exp(-log_vxm),
    ]
    return ll, np.asarray(gradient) * [p, q, v]


def _maximise(
    model: Callable[[NDArray, _Levels], tuple[NDArray, NDArray]],
    data: _Levels,
    start: NDArray,
    scale: list[float],
) -> tuple[list[float], list[float]]:
    """Parameters maximising the likelihood, found on log-parameters by L-BFGS-B
    with the analytic gradient, times ``scale`` (undoing the data's rescaling), and
    their standard errors from the Hessian (central differences of the gradient),
    nan where it is not positive definite."""
    from scipy.optimize import minimize  # noqa: PLC0415 - 0.6 s the API never needs

    n = data.n

    def mean_nll(log_params: NDArray) -> tuple[float, NDArray]:
        ll, gradient = model(log_params, data)
        return -ll.sum() / n, -gradient / n

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    result = minimize(
        mean_nll,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        # tight: where dropout is barely identified (the UCI data) the likelihood is
        # flat and the defaults stop far from its maximum
        options={"gtol": 1e-8, "ftol": 1e-13},
    )
    step = 1e-4 * np.eye(len(start))
    hessian = n * np.stack(
        [(mean_nll(result.x + h)[1] - mean_nll(result.x - h)[1]) / 2e-4 for h in step]
    )
    hessian = (hessian + hessian.T) / 2
    log_se = np.full(len(start), np.nan)
    if np.linalg.eigvalsh(hessian).min() > 0:
        log_se = np.sqrt(np.diag(np.linalg.inv(hessian)))
    params = np.exp(result.x) * scale
    return params.tolist(), (params * log_se).tolist()  # delta method


def _customers(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> tuple[NDArray, NDArray, NDArray]:
    """x, t_x and T as float arrays, checked: 0 <= t_x <= T, t_x = 0 where x = 0."""
    x, t_x, T = _arrays(x=x, t_x=t_x, T=T)
    if not (np.isfinite(t_x) & np.isfinite(T) & (t_x >= 0) & (T >= 0)).all():
        raise ValueError("times t_x and T must be finite and >= 0")
    if (t_x > T).any():
        raise ValueError(
            f"t_x (time of the last purchase) exceeds T (time since the first) for "
            f"{(t_x > T).sum()} customers"
        )
    if ((x == 0) & (t_x != 0)).any():
        raise ValueError("t_x must be 0 for customers without repeat purchases (x = 0)")
    return x, t_x, T


def _spends(x: ArrayLike, m_x: ArrayLike) -> tuple[NDArray, NDArray]:
    """x and m_x as float arrays, checked: m_x > 0 where x >= 1."""
    x, m_x = _arrays(x=x, m_x=m_x)
    repeat = m_x[x > 0]
    if not (np.isfinite(repeat) & (repeat > 0)).all():
        raise ValueError(
            "m_x (mean repeat-purchase value) must be > 0 for customers with x >= 1"
        )
    return x, m_x


def _arrays(**columns: ArrayLike) -> list[NDArray]:
    """The columns as float arrays of one length, the first (x) whole and >= 0."""
    arrays = [np.asarray(column, dtype=float) for column in columns.values()]
    x = arrays[0]
    if x.ndim != 1 or not x.size or any(a.shape != x.shape for a in arrays):
        raise ValueError(
            f"{', '.join(columns)} must be non-empty 1-D arrays of one length, "
            f"got shapes {', '.join(str(a.shape) for a in arrays)}"
        )
    if not (np.isfinite(x) & (x >= 0) & (x == np.round(x))).all():
        raise ValueError("x (repeat purchases) must be whole numbers >= 0")
    return arrays
