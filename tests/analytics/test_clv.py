"""BG/NBD and Gamma–Gamma: our maximum-likelihood fits against the published CDNOW figures and `lifetimes`."""

from __future__ import annotations

import numpy as np
import pytest

from guanxi.analytics import clv

lifetimes_datasets = pytest.importorskip("lifetimes.datasets")


@pytest.fixture(scope="module")
def cdnow() -> dict[str, np.ndarray]:
    d = lifetimes_datasets.load_cdnow_summary(index_col=[0])
    return {"x": d["frequency"].to_numpy(), "tx": d["recency"].to_numpy(), "T": d["T"].to_numpy()}


@pytest.fixture(scope="module")
def cdnow_monetary() -> dict[str, np.ndarray]:
    d = lifetimes_datasets.load_cdnow_summary_data_with_monetary_value()
    d = d[d["frequency"] > 0]
    return {"x": d["frequency"].to_numpy(), "m": d["monetary_value"].to_numpy()}


def test_bgnbd_fit_reproduces_the_published_cdnow_parameters(cdnow: dict[str, np.ndarray]) -> None:
    """Fader, Hardie & Lee (2005) report r=0.243, α=4.414, a=0.793, b=2.426 on the 2,357 CDNOW customers."""
    p = clv.bgnbd_fit(cdnow["x"], cdnow["tx"], cdnow["T"])
    assert (round(p.r, 3), round(p.alpha, 3), round(p.a, 3), round(p.b, 3)) == (0.243, 4.414, 0.793, 2.426)


def test_bgnbd_log_likelihood_matches_the_paper(cdnow: dict[str, np.ndarray]) -> None:
    """At the published parameters the total log-likelihood is −9582.4 (Fader, Hardie & Lee 2005, §5)."""
    ll = clv.bgnbd_loglik(clv.BetaGeoParams(0.243, 4.414, 0.793, 2.426), cdnow["x"], cdnow["tx"], cdnow["T"])
    assert ll.sum() == pytest.approx(-9582.4, abs=0.5)


def test_gamma_gamma_fit_reproduces_the_published_cdnow_parameters(cdnow_monetary: dict[str, np.ndarray]) -> None:
    """Fader & Hardie's Gamma–Gamma note: p=6.25, q=3.74, γ=15.44 on CDNOW's repeat buyers (lifetimes: 15.447)."""
    g = clv.gamma_gamma_fit(cdnow_monetary["x"], cdnow_monetary["m"])
    assert round(g.p, 2) == 6.25
    assert round(g.q, 2) == 3.74
    assert g.v == pytest.approx(15.44, abs=0.01)


def test_predictions_agree_with_lifetimes(cdnow: dict[str, np.ndarray], cdnow_monetary: dict[str, np.ndarray]) -> None:
    """Expected purchases in 39 weeks, P(alive) and expected spend agree with lifetimes to 1e-4 on every customer."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    ours = clv.bgnbd_fit(cdnow["x"], cdnow["tx"], cdnow["T"])
    theirs = BetaGeoFitter().fit(cdnow["x"], cdnow["tx"], cdnow["T"])
    expected_theirs = theirs.conditional_expected_number_of_purchases_up_to_time(
        39, cdnow["x"], cdnow["tx"], cdnow["T"]
    )
    expected_ours = clv.bgnbd_expected_purchases(ours, 39, cdnow["x"], cdnow["tx"], cdnow["T"])
    assert np.max(np.abs(np.asarray(expected_theirs) - expected_ours)) < 1e-3
    alive_theirs = theirs.conditional_probability_alive(cdnow["x"], cdnow["tx"], cdnow["T"])
    assert (
        np.max(
            np.abs(np.asarray(alive_theirs) - clv.bgnbd_probability_alive(ours, cdnow["x"], cdnow["tx"], cdnow["T"]))
        )
        < 1e-4
    )

    gg_ours = clv.gamma_gamma_fit(cdnow_monetary["x"], cdnow_monetary["m"])
    gg_theirs = GammaGammaFitter().fit(cdnow_monetary["x"], cdnow_monetary["m"])
    spend_theirs = gg_theirs.conditional_expected_average_profit(cdnow_monetary["x"], cdnow_monetary["m"])
    spend_ours = clv.gamma_gamma_expected_spend(gg_ours, cdnow_monetary["x"], cdnow_monetary["m"])
    assert np.max(np.abs(np.asarray(spend_theirs) - spend_ours)) < 1e-2


def test_analytic_gradient_matches_finite_differences(cdnow: dict[str, np.ndarray]) -> None:
    """The gradient the optimiser uses is the true gradient of the log-likelihood (so fits converge properly)."""
    theta = np.log([0.3, 5.0, 0.9, 2.0])
    x, tx, t = (np.asarray(cdnow[k], dtype=float) for k in ("x", "tx", "T"))
    _ll, grad = clv._bgnbd_ll_grad(theta, x, tx, t)
    assert grad is not None
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6
        up, _g = clv._bgnbd_ll_grad(theta + step, x, tx, t, want_grad=False)
        down, _g = clv._bgnbd_ll_grad(theta - step, x, tx, t, want_grad=False)
        assert (up.sum() - down.sum()) / 2e-6 == pytest.approx(grad[i].sum(), rel=1e-4)


def test_fit_recovers_parameters_of_simulated_customers() -> None:
    """On 20,000 customers drawn from known parameters the fit lands close to them."""
    truth = clv.BetaGeoParams(r=0.5, alpha=10.0, a=0.7, b=3.0)
    x, tx, t = clv.bgnbd_simulate(truth, 20_000, T=200, seed=3)
    fitted = clv.bgnbd_fit(x, tx, t)
    assert fitted.r == pytest.approx(truth.r, rel=0.1)
    assert fitted.alpha == pytest.approx(truth.alpha, rel=0.15)
    assert fitted.a == pytest.approx(truth.a, rel=0.2)
    assert fitted.b == pytest.approx(truth.b, rel=0.3)


def test_bad_input_is_refused_with_a_clear_message() -> None:
    """Recency beyond the customer's age is an error, not a silent nonsense fit."""
    with pytest.raises(ValueError, match="recency"):
        clv.bgnbd_fit([1, 2], [5, 30], [10, 20])


def test_lifetime_value_is_discounted_expected_purchases_times_spend() -> None:
    """Twelve monthly steps add up to the 12-month expected purchases × spend when there is no discount."""
    bg, gg = clv.BetaGeoParams(0.243, 4.414, 0.793, 2.426), clv.GammaGammaParams(6.25, 3.74, 15.44)
    x, tx, t, m = np.array([2.0, 0.0]), np.array([30.0, 0.0]), np.array([38.0, 38.0]), np.array([20.0, 0.0])
    value = clv.customer_lifetime_value(bg, gg, x, tx, t, m, months=12, days_per_unit=7, monthly_discount=0)
    total = clv.bgnbd_expected_purchases(bg, 12 * 30 / 7, x, tx, t) * clv.gamma_gamma_expected_spend(gg, x, m)
    assert value == pytest.approx(total)
