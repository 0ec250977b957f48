"""Customer value: the published figures, the formulas against the models' posteriors
integrated numerically, parameter recovery from simulated shops, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from benchmarks.customer_value import main as benchmark
from rfm_segmentation.customer_value import (
    BgNbdFit,
    GammaGammaFit,
    _bg_nbd,
    _BgNbdData,
    bg_nbd_log_likelihood,
    expected_value,
    fit_bg_nbd,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
)

from .support import simulate_customers

CDNOW = (0.243, 4.414, 0.793, 2.426)  # r, alpha, a, b in weeks (the BG/NBD paper)
CDNOW_SPEND = (6.25, 3.74, 15.44)  # p, q, v in dollars (the Gamma-Gamma note)
CDNOW_FIT = BgNbdFit(*CDNOW, standard_errors={}, log_likelihood=0, n_customers=0)
SPEND_FIT = GammaGammaFit(
    *CDNOW_SPEND, standard_errors={}, log_likelihood=0, n_repeat_buyers=0
)
# (x, t_x, T): the paper's customer, one without repeat purchases, one probably
# gone, one just seen, and a heavy buyer over a long horizon (where the
# untransformed 2F1 of formula (10) is far from its series' comfort zone)
CUSTOMERS = [(2, 30.43, 38.86), (0, 0, 38.86), (10, 5.0, 52), (1, 20, 20), (60, 70, 78)]


def beta_expect(a: float, b: float, f) -> float:
    """E[f(p)] for p ~ Beta(a, b), by quadrature."""
    return integrate.quad(
        lambda p: f(p) * stats.beta.pdf(p, a, b), 0, 1, epsabs=0, limit=200
    )[0]


def gamma_expect(shape: float, rate: float, f) -> float:
    """E[f(lam)] for lam ~ Gamma(shape, rate), by quadrature."""
    density = stats.gamma(shape, scale=1 / rate).pdf
    return integrate.quad(
        lambda lam: f(lam) * density(lam), 0, np.inf, epsabs=0, limit=200
    )[0]


def posterior_terms(x: int, t_x: float, T: float) -> tuple[float, float]:
    """The marginal likelihood's two parts, each integrated over the CDNOW mixing
    distributions from the individual likelihood (1-p)^x lam^x e^(-lam T) (active
    at T) + p (1-p)^(x-1) lam^x e^(-lam t_x) (gone after the last purchase)."""
    r, alpha, a, b = CDNOW
    active = beta_expect(a, b, lambda p: (1 - p) ** x) * gamma_expect(
        r, alpha, lambda lam: lam**x * np.exp(-lam * T)
    )
    gone = 0.0
    if x > 0:
        gone = beta_expect(a, b, lambda p: p * (1 - p) ** (x - 1)) * gamma_expect(
            r, alpha, lambda lam: lam**x * np.exp(-lam * t_x)
        )
    return active, gone


def test_the_papers_customer_expects_1_226_purchases_in_the_next_39_weeks():
    expected = CDNOW_FIT.expected_purchases(39, [2], [30.43], [38.86])
    assert round(float(expected[0]), 3) == 1.226


@pytest.mark.parametrize(("x", "t_x", "T"), CUSTOMERS)
def test_log_likelihood_and_p_alive_are_the_integrated_individual_likelihood(x, t_x, T):
    active, gone = posterior_terms(x, t_x, T)
    assert bg_nbd_log_likelihood(CDNOW, [x], [t_x], [T])[0] == pytest.approx(
        np.log(active + gone), rel=1e-7
    )
    assert CDNOW_FIT.p_alive([x], [t_x], [T])[0] == pytest.approx(
        active / (active + gone), rel=1e-6
    )


@pytest.mark.parametrize(("x", "t_x", "T"), CUSTOMERS)
@pytest.mark.parametrize("t", [1, 39, 520])
def test_expected_purchases_are_the_posterior_mean_integrated_over_p(x, t_x, T, t):
    """An active customer with (lam, p) makes (1 - e^(-lam p t)) / p purchases in t
    on average (the paper's E[X(t)]); integrated over lam in closed form
    (E[lam^x e^(-lam s)] is proportional to (alpha + s)^-(r+x)) and over p by
    quadrature, on the posterior, instead of through the 2F1."""
    r, alpha, a, b = CDNOW
    active, gone = posterior_terms(x, t_x, T)
    ratio = lambda s: ((alpha + T) / (alpha + s)) ** (r + x)  # noqa: E731
    future = beta_expect(
        a, b, lambda p: (1 - p) ** x * (1 - ratio(T + p * t)) / p
    ) * gamma_expect(r, alpha, lambda lam: lam**x * np.exp(-lam * T))
    expected = CDNOW_FIT.expected_purchases(t, [x], [t_x], [T])[0]
    assert expected == pytest.approx(future / (active + gone), rel=1e-6)


@pytest.mark.parametrize(("a", "b"), [(200.0, 1800.0), (2.308e5, 1.972e6)])
@pytest.mark.parametrize(("x", "t_x", "T"), [(1, 0.5, 1), (3, 1, 2), (8, 30, 60)])
def test_expected_purchases_where_dropout_is_nearly_the_same_for_everyone(
    a, b, x, t_x, T
):
    """Huge a and b (a fit on a shop without dropout heterogeneity), where scipy's
    2F1 fails in either form: formula (10)'s Pfaff form with its 2F1 computed as
    Euler's integral, by quadrature around the peak of Beta(a - 1, b + x)."""
    r, alpha, t = 0.05491, 6.3e-5, 90.0
    fit = BgNbdFit(r, alpha, a, b, standard_errors={}, log_likelihood=0, n_customers=0)
    s, u = t / (alpha + T), stats.beta(a - 1, b + x)
    f = integrate.quad(
        lambda v: u.pdf(v) * (1 + s * v) ** -(r + x),
        0,
        1,
        points=[u.mean()],
        epsabs=0,
        limit=500,
    )[0]
    alive = fit.p_alive([x], [t_x], [T])[0]
    assert fit.expected_purchases(t, [x], [t_x], [T])[0] == pytest.approx(
        (a + b + x - 1) / (a - 1) * (1 - f) * alive, rel=1e-4
    )


@pytest.mark.parametrize(("x", "m_x"), [(1, 20.0), (2, 35.0), (10, 80.0)])
def test_expected_spend_is_the_posterior_mean_integrated_over_nu(x, m_x):
    """m_x | nu ~ Gamma(p x, rate nu x) and a purchase is worth p / nu on average,
    nu ~ Gamma(q, rate v): the posterior mean of p / nu, by quadrature; and the
    log-density of m_x is the same integral without p / nu."""
    p, q, v = CDNOW_SPEND
    density = lambda nu: stats.gamma.pdf(m_x, p * x, scale=1 / (nu * x))  # noqa: E731
    evidence = gamma_expect(q, v, density)
    posterior_mean = gamma_expect(q, v, lambda nu: p / nu * density(nu)) / evidence
    assert SPEND_FIT.expected_spend([x], [m_x])[0] == pytest.approx(
        posterior_mean, rel=1e-6
    )
    assert gamma_gamma_log_likelihood(CDNOW_SPEND, [x], [m_x])[0] == pytest.approx(
        np.log(evidence), rel=1e-7
    )


def test_without_repeat_purchases_spend_is_the_population_mean_and_m_x_is_ignored():
    spend = SPEND_FIT.expected_spend([0, 0], [0.0, np.nan])
    assert spend == pytest.approx([35.219, 35.219], abs=1e-3)  # 6.25 * 15.44 / 2.74


def test_expected_value_is_purchases_times_spend_undiscounted():
    x, t_x, T, m_x = [2, 0], [30.43, 0], [38.86, 20], [40.0, 0.0]
    value = expected_value(CDNOW_FIT, SPEND_FIT, 39, x=x, t_x=t_x, T=T, m_x=m_x)
    assert value == pytest.approx(
        CDNOW_FIT.expected_purchases(39, x, t_x, T) * SPEND_FIT.expected_spend(x, m_x)
    )
    assert value[0] == pytest.approx(
        1.226 * SPEND_FIT.expected_spend([2], [40])[0], 1e-3
    )


def test_predictions_match_what_simulated_customers_go_on_to_do():
    """Averaged over a simulated shop, P(alive) is the share still active at T and
    the expected purchases are the purchases made in the next 39 weeks (within 4
    standard errors of the mean difference), for each group of x."""
    T = np.random.default_rng(3).uniform(10, 78, 100_000)
    c = simulate_customers(CDNOW, CDNOW_SPEND, T, horizon=39, seed=4)
    alive = CDNOW_FIT.p_alive(c.x, c.t_x, c.T) - c.alive
    future = CDNOW_FIT.expected_purchases(39, c.x, c.t_x, c.T) - c.future
    for group in (c.x == 0, c.x == 1, (c.x >= 2) & (c.x < 5), c.x >= 5):
        for difference in (alive[group], future[group]):
            sem = difference.std() / np.sqrt(group.sum())
            assert abs(difference.mean()) <= 4 * sem  # P(alive) = 1 at x = 0


SHOPS = {  # BG/NBD and Gamma-Gamma parameters, observation windows, customers
    "cdnow": (CDNOW, CDNOW_SPEND, (27, 39), 20_000),
    "frequent, loyal": ((2.0, 10.0, 0.5, 5.0), (2.0, 5.0, 100.0), (10, 100), 5_000),
    "mostly one-time": ((0.1, 20.0, 2.0, 1.0), (10.0, 2.5, 1.0), (20, 52), 30_000),
    "alike": ((5.0, 5.0, 3.0, 9.0), (20.0, 10.0, 50.0), (50, 100), 5_000),
}


@pytest.mark.parametrize("shop", SHOPS)
def test_estimates_recover_the_simulated_parameters_within_two_standard_errors(shop):
    """Seeded: with 28 estimates, about 1 in 20 each falls beyond 2 standard errors
    by chance, so 3 of 5 seeds have one that does; these seeds (the first of 20 to
    have none) are fixed, and the test below checks how often it happens."""
    bg_nbd, gamma_gamma, window, n = SHOPS[shop]
    T = np.random.default_rng(3).uniform(*window, n)
    c = simulate_customers(bg_nbd, gamma_gamma, T, seed=103)
    fits = fit_bg_nbd(c.x, c.t_x, c.T), fit_gamma_gamma(c.x, c.m_x)
    for fit, truth in zip(fits, (bg_nbd, gamma_gamma), strict=True):
        for (name, se), true in zip(fit.standard_errors.items(), truth, strict=True):
            assert abs(getattr(fit, name) - true) < 2 * se, (name, se)
    assert (fits[0].n_customers, fits[1].n_repeat_buyers) == (n, (c.x > 0).sum())
    # the optimum: no better than at the truth, none near the estimate either
    assert fits[0].log_likelihood > bg_nbd_log_likelihood(bg_nbd, c.x, c.t_x, c.T).sum()
    repeat = c.x > 0
    truth_ll = gamma_gamma_log_likelihood(gamma_gamma, c.x[repeat], c.m_x[repeat])
    assert fits[1].log_likelihood > truth_ll.sum()


def test_the_log_likelihood_is_a_maximum():
    c = simulate_customers(CDNOW, CDNOW_SPEND, np.full(5_000, 39.0), seed=7)
    fit = fit_bg_nbd(c.x, c.t_x, c.T)
    estimate = np.array([fit.r, fit.alpha, fit.a, fit.b])
    for step in 0.01 * np.vstack([np.eye(4), -np.eye(4)]):
        nearby = bg_nbd_log_likelihood(estimate * (1 + step), c.x, c.t_x, c.T).sum()
        assert nearby < fit.log_likelihood


def test_customers_alike_count_by_weight_in_the_likelihood_and_its_gradient():
    """Whole weeks make many customers alike, which are computed once, weighted:
    each keeps its own log-likelihood, in input order, and the analytic gradient
    is the sum's own (central differences)."""
    c = simulate_customers(CDNOW, CDNOW_SPEND, np.full(5_000, 39.0), seed=3)
    t_x = np.where(c.x > 0, np.ceil(c.t_x), 0)
    data = _BgNbdData(c.x, t_x, c.T)
    assert len(data.weights) < (c.x > 0).sum() / 2
    log_params = np.log(CDNOW)
    ll, gradient = _bg_nbd(log_params, data)
    each = bg_nbd_log_likelihood(CDNOW, c.x, t_x, c.T)
    alone = [
        bg_nbd_log_likelihood(CDNOW, [c.x[i]], [t_x[i]], [c.T[i]])[0] for i in range(50)
    ]
    np.testing.assert_allclose(each[:50], alone, rtol=1e-12)
    np.testing.assert_allclose(np.sort(ll), np.sort(each), rtol=1e-12)
    steps = 1e-6 * np.eye(4)
    numeric = [
        (
            _bg_nbd(log_params + h, data)[0].sum()
            - _bg_nbd(log_params - h, data)[0].sum()
        )
        / 2e-6
        for h in steps
    ]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5)


def test_standard_errors_are_the_spread_of_the_estimates():
    """Over 100 simulated CDNOW-like shops of 20,000 customers, (estimate - truth)
    / standard error has mean near 0 and spread near 1 (within 3 of their own
    standard errors, 0.1 and 0.07), and 2 standard errors hold the truth in 88%
    of the shops or more (95.4% expected, binomial sd 2.1 points). In shops of a
    few thousand customers the spread reaches 1.1: the estimates are not yet
    normal there."""
    z = []
    for seed in range(100):
        c = simulate_customers(CDNOW, CDNOW_SPEND, np.full(20_000, 39.0), seed=seed)
        fits = fit_bg_nbd(c.x, c.t_x, c.T), fit_gamma_gamma(c.x, c.m_x)
        z.append(
            [
                (getattr(fit, name) - true) / se
                for fit, truth in zip(fits, (CDNOW, CDNOW_SPEND), strict=True)
                for (name, se), true in zip(
                    fit.standard_errors.items(), truth, strict=True
                )
            ]
        )
    z = np.array(z)
    assert (np.abs(z.mean(axis=0)) < 0.3).all(), z.mean(axis=0)
    assert ((z.std(axis=0) > 0.8) & (z.std(axis=0) < 1.2)).all(), z.std(axis=0)
    assert ((np.abs(z) < 2).mean(axis=0) >= 0.88).all()


def test_nobody_buying_again_cannot_be_fitted_but_can_be_scored():
    x, t_x, T = [0, 0, 0], [0, 0, 0], [5.0, 10.0, 20.0]
    with pytest.raises(ValueError, match="no customer made a repeat purchase"):
        fit_bg_nbd(x, t_x, T)
    with pytest.raises(ValueError, match="no repeat buyers"):
        fit_gamma_gamma(x, [0, 0, 0])
    assert (CDNOW_FIT.p_alive(x, t_x, T) == 1).all()
    expected = CDNOW_FIT.expected_purchases(39, x, t_x, T)
    assert (np.diff(expected) < 0).all()  # a longer silence, fewer purchases to come


@pytest.mark.parametrize("n", [1, 3, 20])
def test_tiny_shops_fit_to_finite_scores(n):
    c = simulate_customers(CDNOW, CDNOW_SPEND, np.full(n, 39.0), seed=11)
    x, t_x, m_x = np.append(c.x, 2), np.append(c.t_x, 30.0), np.append(c.m_x, 20.0)
    T = np.append(c.T, 39.0)
    bg_nbd, gamma_gamma = fit_bg_nbd(x, t_x, T), fit_gamma_gamma(x, m_x)
    value = expected_value(bg_nbd, gamma_gamma, 39, x=x, t_x=t_x, T=T, m_x=m_x)
    alive = bg_nbd.p_alive(x, t_x, T)
    assert np.isfinite(value).all() and (value >= 0).all()
    assert ((alive >= 0) & (alive <= 1)).all()
    assert np.isfinite([bg_nbd.log_likelihood, gamma_gamma.log_likelihood]).all()


@pytest.mark.parametrize(
    ("x", "t_x", "T", "message"),
    [
        ([1, 2], [1.0], [2.0, 3.0], "must be non-empty 1-D arrays of one length"),
        ([], [], [], "must be non-empty 1-D arrays"),
        ([1.5], [1.0], [2.0], r"x \(repeat purchases\) must be whole numbers >= 0"),
        ([-1], [0.0], [2.0], "must be whole numbers >= 0"),
        ([np.nan], [1.0], [2.0], "must be whole numbers >= 0"),
        ([1], [-1.0], [2.0], "times t_x and T must be finite and >= 0"),
        ([1], [1.0], [-2.0], "times t_x and T must be finite and >= 0"),
        ([1], [1.0], [np.inf], "times t_x and T must be finite and >= 0"),
        ([1], [3.0], [2.0], r"t_x \(time of the last purchase\) exceeds T .* for 1"),
        ([0], [1.0], [2.0], r"t_x must be 0 for customers without repeat purchases"),
        ([1], [np.nan], [2.0], "times t_x and T must be finite"),
    ],
)
def test_impossible_customers_are_refused_with_the_reason(x, t_x, T, message):
    for call in (
        lambda: fit_bg_nbd(x, t_x, T),
        lambda: CDNOW_FIT.p_alive(x, t_x, T),
        lambda: CDNOW_FIT.expected_purchases(39, x, t_x, T),
    ):
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize("m_x", [0.0, -5.0, np.nan, np.inf])
def test_repeat_buyers_need_a_positive_mean_spend(m_x):
    with pytest.raises(ValueError, match=r"m_x \(mean repeat-purchase value\) must"):
        fit_gamma_gamma([1, 2], [10.0, m_x])
    with pytest.raises(ValueError, match="must be > 0 for customers with x >= 1"):
        SPEND_FIT.expected_spend([1], [m_x])


def test_other_impossible_requests_are_refused():
    with pytest.raises(ValueError, match="horizon t must be a finite number >= 0"):
        CDNOW_FIT.expected_purchases(-1, [1], [1.0], [2.0])
    with pytest.raises(ValueError, match="defined for x >= 1 only"):
        gamma_gamma_log_likelihood(CDNOW_SPEND, [0, 1], [0.0, 5.0])
    heavy = simulate_customers(CDNOW, (1.0, 0.7, 10.0), np.full(20_000, 39.0), seed=8)
    with pytest.raises(ValueError, match="too heavy-tailed for the Gamma-Gamma model"):
        fit_gamma_gamma(heavy.x, heavy.m_x)


def test_the_benchmark_runs_end_to_end(capsys):
    benchmark(["--customers", "2000"])
    out = capsys.readouterr().out
    assert "2,000 customers" in out
    assert "total" in out and "goal <= 10 s" in out
