"""The customer_value pipeline: the models' statistics counted as frequency counts
purchases, parameters recovered from a simulated shop's transactions, the value
joined to the customer table and profile, and the backtest against a simulated
holdout."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import polars as pl
import pytest
from matplotlib.figure import Figure

from rfm_segmentation.customer_value import NotEstimable
from rfm_segmentation.pipelines.customer_value import nodes
from rfm_segmentation.pipelines.customer_value.figures import calibration_vs_holdout
from rfm_segmentation.pipelines.customer_value.nodes import (
    HOLDOUT_COLUMNS,
    backtest_customer_value,
    customer_summary,
    repeat_spend,
    summarise_backtest,
)
from rfm_segmentation.pipelines.reporting.nodes import summarise_segments
from rfm_segmentation.profile import SegmentProfile
from rfm_segmentation.slices import pipeline_of, run_slice

from ...support import simulate_customers

CDNOW = (0.243, 4.414, 0.793, 2.426)  # weeks
CDNOW_SPEND = (6.25, 3.74, 15.44)
AS_OF = datetime(2012, 1, 1)
HOLDOUT_DAYS = 91  # 13 weeks
FIRST_VALUE = 30.0


def clean_frame(rows: list[tuple[str, str, str, float]]) -> pl.LazyFrame:
    return (
        pl.DataFrame(
            rows,
            schema=["customer_id", "invoice_id", "invoiced_at", "line_amount"],
            orient="row",
        )
        .lazy()
        .with_columns(pl.col("invoiced_at").str.to_datetime("%Y-%m-%d %H:%M"))
    )


ROWS = [
    ("a", "1", "2011-01-01 09:00", 10.0),
    ("a", "1", "2011-01-01 09:00", 5.0),  # same invoice: one purchase
    ("a", "2", "2011-03-01 17:30", 20.0),
    ("a", "3", "2011-03-01 18:00", 40.0),  # same day, another invoice
    ("b", "4", "2011-02-15 10:00", 7.5),  # one purchase only
    ("c", "5", "2011-02-01 08:00", 10.0),  # two purchases at the first moment
    ("c", "6", "2011-02-01 08:00", 30.0),
    ("c", "7", "2011-03-02 08:00", 50.0),
]


def summary(clean: pl.LazyFrame, unit_days: int = 1) -> pd.DataFrame:
    rfm = run_slice(
        pipeline_of("feature_engineering"),
        {"clean_transactions": clean},
        {"rfm": {"snapshot_date": None}, "columns": {}},
    )["rfm_features"]
    as_of = datetime.fromisoformat(rfm["as_of"].iloc[0])
    spend = repeat_spend(clean, as_of + timedelta(days=1))
    return customer_summary(rfm, spend, unit_days).set_index("customer_id")


def test_statistics_count_repeat_purchases_as_frequency_does():
    stats = summary(clean_frame(ROWS))  # as of 2011-03-03
    assert stats.loc["a"].to_dict() == {"x": 2, "t_x": 59, "T": 61, "m_x": 30.0}
    assert stats.loc["b"].to_dict() == {"x": 0, "t_x": 0, "T": 16, "m_x": 0.0}
    # tied first purchases: the first one's value is their mean, 20
    assert stats.loc["c"].to_dict() == {"x": 2, "t_x": 29, "T": 30, "m_x": 35.0}
    assert summary(clean_frame(ROWS), 7).loc["a", "T"] == pytest.approx(61 / 7)


def test_without_invoices_purchase_days_are_the_purchases():
    stats = summary(clean_frame(ROWS).drop("invoice_id"))
    assert stats.loc["a"].to_dict() == {"x": 1, "t_x": 59, "T": 61, "m_x": 60.0}
    assert stats.loc["c", "x"] == 1 and stats.loc["c", "m_x"] == 50.0


def shop_transactions(n: int = 2500, seed: int = 3) -> tuple[pl.LazyFrame, int]:
    """Transactions of customers drawn from the CDNOW estimates (weeks) observed for
    20 to 78 weeks up to the cutoff, with their simulated holdout purchases spread
    over the holdout, and 50 customers whose first purchase is in the holdout.
    Returns them and the holdout's purchases."""
    rng = np.random.default_rng(seed)
    cutoff = AS_OF - timedelta(days=HOLDOUT_DAYS)
    T = rng.integers(20 * 7, 78 * 7, n) / 7
    c = simulate_customers(CDNOW, CDNOW_SPEND, T, horizon=HOLDOUT_DAYS / 7, seed=seed)
    rows = []
    for i in range(n):
        first = cutoff - timedelta(days=round(T[i] * 7))
        days = [0.0]
        if c.x[i]:
            last = min(int(c.t_x[i] * 7), round(T[i] * 7) - 1)  # before the cutoff
            days += [*rng.uniform(0, last, c.x[i] - 1).round(), last]
        values = [FIRST_VALUE] + [c.m_x[i]] * int(c.x[i])
        holdout = rng.integers(0, HOLDOUT_DAYS, c.future[i])
        days += [(cutoff - first).days + d for d in holdout]
        values += [c.m_x[i] or FIRST_VALUE] * len(holdout)
        for k, (day, value) in enumerate(zip(days, values, strict=True)):
            rows.append((str(i), f"{i}-{k}", first + timedelta(days=float(day)), value))
    for i in range(n, n + 50):
        rows.append((str(i), f"{i}-0", cutoff + timedelta(days=i % 80), FIRST_VALUE))
    frame = pl.DataFrame(
        rows,
        schema=["customer_id", "invoice_id", "invoiced_at", "line_amount"],
        orient="row",
    )
    return frame.lazy(), int(c.future.sum())


@pytest.fixture(scope="module")
def shop(params):
    clean, holdout_purchases = shop_transactions()
    params = {
        **params,
        "rfm": {"snapshot_date": AS_OF.date().isoformat()},
        "columns": {**params["columns"], "passthrough": []},  # simulated: no Country
        "customer_value": {**params["customer_value"], "holdout_days": HOLDOUT_DAYS},
        "stability": {
            "seeds": 1,
            "bootstrap": 1,
        },  # the segments' quality is not tested
        "clustering": {**params["clustering"], "n_init": 2},
    }
    outputs = run_slice(
        pipeline_of("feature_engineering", "clustering", "customer_value"),
        {"clean_transactions": clean},
        params,
    )
    return outputs, holdout_purchases


def test_the_backtest_refit_recovers_the_simulated_parameters(shop):
    """The calibration period is the simulated one (in days: alpha x 7)."""
    fit = shop[0]["customer_value_backtest"]["calibration"]
    errors = fit["standard_errors"]
    r, alpha, a, b = CDNOW
    in_days = (r, alpha * 7, a, b)
    for name, true in zip(("r", "alpha", "a", "b"), in_days, strict=True):
        assert abs(fit["bg_nbd"][name] - true) < 3 * errors["bg_nbd"][name], name
    for name, true in zip(("p", "q", "v"), CDNOW_SPEND, strict=True):
        assert abs(fit["gamma_gamma"][name] - true) < 3 * errors["gamma_gamma"][name]


def test_the_backtest_predicts_the_holdouts_purchases(shop):
    outputs, holdout_purchases = shop
    backtest = outputs["customer_value_backtest"]
    cutoff = AS_OF - timedelta(days=HOLDOUT_DAYS)
    assert backtest["cutoff"] == cutoff.date().isoformat()
    assert backtest["new_in_holdout"] == 50
    total = backtest["total"]
    assert total["customers"] == 2500
    assert total["purchases"]["actual"] == holdout_purchases
    assert total["purchases"]["predicted"] == pytest.approx(holdout_purchases, rel=0.15)
    segments = backtest["segments"]
    assert sum(s["customers"] for s in segments) == 2500
    assert sum(s["purchases"]["actual"] for s in segments) == holdout_purchases
    share = {s["segment_name"]: s["bought_again_share"] for s in segments}
    assert share["Champions"] > share["Lost Customers"]


def test_every_customer_is_scored_and_the_profile_sums_them(shop):
    outputs = shop[0]
    table = outputs["customer_value_segments"]
    assert len(table) == len(outputs["customer_segments"])
    assert table["p_alive"].between(0, 1).all()
    assert (table[["expected_purchases", "expected_value"]] >= 0).all().all()
    profile: SegmentProfile = outputs["customer_value_profile"]
    model = outputs["customer_value_model"]
    assert profile.customer_value.model_dump() == model
    assert model["time_unit"] == "day" and model["horizon"] == 90
    assert model["n_customers"] == len(table)
    assert model["n_repeat_buyers"] == (table["frequency"] > 1).sum()
    filled = [s for s in profile.segments if s.customers]
    assert all(s.value for s in filled)
    assert sum(s.value.expected_value for s in filled) == pytest.approx(
        table["expected_value"].sum(), abs=0.1
    )
    summary = summarise_segments(profile).set_index("segment_name")
    champions = table[table["segment_name"] == "Champions"]
    assert summary.loc["Champions", "p_alive_mean"] == pytest.approx(
        champions["p_alive"].mean(), abs=1e-4
    )


def test_the_figure_shows_calibration_and_segments(shop):
    plotly_figure, figure = calibration_vs_holdout(shop[0]["customer_value_holdout"])
    assert isinstance(figure, Figure) and len(figure.axes) == 2
    assert len(plotly_figure.data) == 4


def test_a_holdout_longer_than_the_data_leaves_the_backtest_empty_and_says_why(
    params, caplog
):
    clean = clean_frame(ROWS)
    rfm = run_slice(
        pipeline_of("feature_engineering"),
        {"clean_transactions": clean},
        {"rfm": {"snapshot_date": None}, "columns": {}},
    )["rfm_features"]
    settings = {**params["customer_value"], "holdout_days": 400}
    holdout, fit = backtest_customer_value(clean, rfm, None, None, settings)
    assert holdout.empty and list(holdout) == list(HOLDOUT_COLUMNS)
    assert "holdout_days = 400 leaves no calibration period" in fit["not_run"]
    assert "lower it to backtest" in caplog.text
    report = summarise_backtest(holdout, fit)
    assert report["total"]["customers"] == 0 and report["segments"] == []
    assert report["total"]["purchases"]["predicted_per_customer"] is None
    assert isinstance(calibration_vs_holdout(holdout)[1], Figure)


def test_a_shop_without_repeat_buyers_is_segmented_and_its_value_left_empty(
    params, caplog
):
    """BG/NBD needs repeat purchases: without any, the value columns stay empty and
    the run says why, instead of failing a segmentation that needs none."""
    rng = np.random.default_rng(5)
    days = rng.integers(0, 365, 300)
    rows = [
        (
            str(i),
            str(i),
            f"{datetime(2011, 1, 1) + timedelta(days=int(d)):%Y-%m-%d} 10:00",
            float(rng.lognormal(3, 1)),
        )
        for i, d in enumerate(days)
    ]
    outputs = run_slice(
        pipeline_of("feature_engineering", "clustering", "customer_value"),
        {"clean_transactions": clean_frame(rows)},
        {
            **params,
            "columns": {**params["columns"], "passthrough": []},
            "stability": {"seeds": 1, "bootstrap": 1},
        },
    )
    table = outputs["customer_value_segments"]
    assert len(table) == 300 and table["segment_name"].notna().all()
    assert table[["p_alive", "expected_purchases", "expected_value"]].isna().all().all()
    model = outputs["customer_value_model"]
    assert model["bg_nbd"] is None and model["n_repeat_buyers"] == 0
    assert "no customer made a repeat purchase" in model["not_estimated"]["bg_nbd"]
    assert "BG/NBD model is not estimated" in caplog.text
    profile = outputs["customer_value_profile"]
    assert profile.customer_value is None
    assert all(segment.value is None for segment in profile.segments)
    assert "p_alive_mean" not in summarise_segments(profile)


def test_without_a_spend_model_purchases_stand_and_value_stays_empty(
    params, monkeypatch
):
    """Spend too heavy-tailed for Gamma-Gamma (q <= 1) leaves only expected_value
    empty: p_alive and expected purchases come from BG/NBD alone."""

    def heavy_tailed(x, m_x):
        raise NotEstimable("spend is too heavy-tailed for the Gamma-Gamma model")

    monkeypatch.setattr(nodes, "fit_gamma_gamma", heavy_tailed)
    clean, _ = shop_transactions(n=600)
    outputs = run_slice(
        pipeline_of("feature_engineering", "clustering", "customer_value"),
        {"clean_transactions": clean},
        {
            **params,
            "rfm": {"snapshot_date": AS_OF.date().isoformat()},
            "columns": {**params["columns"], "passthrough": []},
            "stability": {"seeds": 1, "bootstrap": 1},
        },
    )
    table = outputs["customer_value_segments"]
    assert table["p_alive"].between(0, 1).all()
    assert table["expected_purchases"].notna().all()
    assert table["expected_value"].isna().all()
    model = outputs["customer_value_model"]
    assert model["gamma_gamma"] is None and model["bg_nbd"] is not None
    profile = outputs["customer_value_profile"]
    assert profile.customer_value.gamma_gamma is None
    filled = [s for s in profile.segments if s.customers]
    assert all(s.value.expected_value is None for s in filled)
    assert all(s.value.expected_purchases > 0 for s in filled)


@pytest.fixture(scope="module")
def shop_features() -> tuple[pd.DataFrame, pl.LazyFrame]:
    """The simulated shop's RFM features and clean transactions."""
    clean, _ = shop_transactions()
    rfm = run_slice(
        pipeline_of("feature_engineering"),
        {"clean_transactions": clean},
        {"rfm": {"snapshot_date": AS_OF.date().isoformat()}, "columns": {}},
    )["rfm_features"]
    return rfm, clean


def test_above_the_sample_bound_the_models_are_fitted_on_a_sample_and_score_all(
    shop_features, params, monkeypatch
):
    """A fit on 1,000 of 2,550 customers: within its standard errors of the fit on
    all of them, and every customer scored alike."""
    monkeypatch.setattr(nodes, "MIN_REPEAT_BUYERS", 100)
    settings = params["customer_value"]
    full, full_model = nodes.fit_customer_value(*shop_features, settings)
    sampled, model = nodes.fit_customer_value(
        *shop_features, {**settings, "fit_sample_size": 1000}
    )
    assert (full_model["n_fitted"], model["n_fitted"]) == (2550, 1000)
    assert model["n_customers"] == full_model["n_customers"] == len(sampled) == 2550
    for name in ("bg_nbd", "gamma_gamma"):
        assert model[name] != full_model[name]  # another fit
        errors = model["standard_errors"][name]
        for parameter, value in model[name].items():
            if parameter != "log_likelihood":
                assert abs(value - full_model[name][parameter]) < 3 * errors[parameter]
    for column in ("p_alive", "expected_purchases", "expected_value"):
        assert np.corrcoef(sampled[column], full[column])[0, 1] > 0.99, column


def test_a_sample_with_too_few_repeat_buyers_is_not_taken(shop_features, params):
    """A shop of few repeat buyers needs them all: 1,000 of these 2,550 customers
    hold ~460 repeat buyers, below MIN_REPEAT_BUYERS, so every customer is fitted."""
    settings = params["customer_value"]
    _, full_model = nodes.fit_customer_value(*shop_features, settings)
    _, model = nodes.fit_customer_value(
        *shop_features, {**settings, "fit_sample_size": 1000}
    )
    assert model["n_fitted"] == full_model["n_fitted"] == 2550
    for name in ("bg_nbd", "gamma_gamma"):  # a sample's fit differs far more
        assert model[name] == pytest.approx(full_model[name], rel=1e-5)
