"""Nodes of the customer_value pipeline.

The transaction-level queries are narwhals (any engine): each customer's spend after
their first purchase, and the purchases and spend of the holdout period. Repeat
purchases, their timing and the observation time come from the RFM features
(``frequency - 1``, ``tenure - recency``, ``tenure``), so the models count purchases
exactly as ``frequency`` does. The models themselves are
``rfm_segmentation.customer_value``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from rfm_segmentation.customer_value import (
    BgNbdFit,
    GammaGammaFit,
    NotEstimable,
    fit_bg_nbd,
    fit_gamma_gamma,
)
from rfm_segmentation.frames import as_lazy, collected, positions_of, to_pandas
from rfm_segmentation.model import FEATURES, sample_rows, segmenter_of
from rfm_segmentation.pipelines.feature_engineering.nodes import (
    aggregate_customer_activity,
    compute_rfm_features,
    feature_dates,
)
from rfm_segmentation.profile import TIME_UNITS, SegmentNaming, SegmentProfile
from rfm_segmentation.segments import segment_order

DAY = timedelta(days=1)
VALUE_COLUMNS = ("p_alive", "expected_purchases", "expected_value")
MODEL_NAMES = {"bg_nbd": "BG/NBD", "gamma_gamma": "Gamma-Gamma"}
HOLDOUT_COLUMNS = {
    "customer_id": "object",
    "segment_name": "object",
    "x": "int64",
    "p_alive": "float64",
    "predicted_purchases": "float64",
    "predicted_value": "float64",
    "actual_purchases": "int64",
    "actual_value": "float64",
}

# a fit sample with fewer repeat buyers than this is not taken (every customer is
# fitted): a shop of few repeat buyers needs them all
MIN_REPEAT_BUYERS = 1000
logger = logging.getLogger(__name__)


def fit_customer_value(
    rfm_features: Any, clean_transactions: Any, customer_value: dict[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Both models fitted on the customers' purchases up to the as-of date (on a
    seeded sample of ``customer_value.fit_sample_size`` customers when there are
    more), and each customer's ``p_alive``, ``expected_purchases`` and
    ``expected_value`` over the next ``customer_value.horizon_days`` (in the data's
    currency, undiscounted). A model the data cannot identify (a shop without
    repeat buyers) leaves its columns empty, with a warning. Returns the customer
    table and the model report (customer_value_model)."""
    unit = _unit_days(customer_value)
    rfm_features = collected(rfm_features)
    as_of = datetime.fromisoformat(str(rfm_features["as_of"].iloc[0]))
    summary = customer_summary(
        rfm_features, repeat_spend(clean_transactions, as_of + DAY), unit
    )
    fits = _fit(summary, customer_value, "customer value")
    horizon = customer_value["horizon_days"] / unit
    scores = _scores(fits, summary, horizon)
    table = pd.DataFrame(
        {
            "customer_id": summary["customer_id"],
            "p_alive": scores["p_alive"].round(4),
            "expected_purchases": scores["expected_purchases"].round(4),
            "expected_value": scores["expected_value"].round(2),
        }
    )
    return table, model_report(fits, summary, customer_value)


def value_segments(
    customer_segments: pd.DataFrame,
    segment_profile: SegmentProfile,
    customer_value: pd.DataFrame,
    customer_value_model: dict[str, Any],
) -> tuple[pd.DataFrame, SegmentProfile]:
    """The customer table with each customer's ``p_alive``, ``expected_purchases``
    and ``expected_value``, and the profile with the fitted models and each
    segment's value: mean ``p_alive``, expected purchases and value in total and per
    customer (None for names without customers). Without a BG/NBD fit the profile
    has no customer value; without a Gamma-Gamma fit, no expected value. The
    table's text columns but the id are categories: it is held until the release
    is published, and at ten million customers its repeated labels and dates as
    text would be a gigabyte."""
    rows = positions_of(customer_segments["customer_id"], customer_value["customer_id"])
    if missing := (rows < 0).sum():
        raise ValueError(
            f"{missing} customers of customer_segments are not in customer_value: "
            "the two come from different runs"
        )
    table = customer_segments.assign(
        **{name: customer_value[name].to_numpy()[rows] for name in VALUE_COLUMNS}
    )
    text = [  # the Series, not its dtype: an object column of numbers is no text
        c
        for c in table.columns
        if c != "customer_id" and pd.api.types.is_string_dtype(table[c])
    ]
    table = table.astype(dict.fromkeys(text, "category"))
    profile = segment_profile.model_dump()
    fitted = customer_value_model["bg_nbd"] is not None
    profile["customer_value"] = customer_value_model if fitted else None
    grouped = table.groupby("segment_name")
    sums = grouped[["expected_purchases", "expected_value"]].sum()
    means = grouped[list(VALUE_COLUMNS)].mean()
    spend_fitted = customer_value_model["gamma_gamma"] is not None
    for segment in profile["segments"] if fitted else ():
        name = segment["segment_name"]
        if name in sums.index:
            segment["value"] = {
                "p_alive_mean": round(float(means.at[name, "p_alive"]), 4),
                "expected_purchases": round(
                    float(sums.at[name, "expected_purchases"]), 2
                ),
                "expected_purchases_per_customer": round(
                    float(means.at[name, "expected_purchases"]), 4
                ),
                "expected_value": round(float(sums.at[name, "expected_value"]), 2)
                if spend_fitted
                else None,
                "expected_value_per_customer": round(
                    float(means.at[name, "expected_value"]), 2
                )
                if spend_fitted
                else None,
            }
    return table, SegmentProfile.model_validate(profile)


def repeat_spend(clean_transactions: Any, before: datetime) -> pd.DataFrame:
    """Per customer, the spend of the purchases after the first among the
    transactions before ``before``. Purchases are counted as ``frequency`` counts
    them; where several share the first timestamp, the first purchase's value is
    their mean (what any order among them gives on average)."""
    purchases = _purchases(as_lazy(clean_transactions).filter(_before(before)))
    first_at = purchases.group_by("customer_id").agg(
        nw.col("at").min().alias("first_at")
    )
    first_value = (
        purchases.join(first_at, on="customer_id")
        .filter(nw.col("at") == nw.col("first_at"))
        .group_by("customer_id")
        .agg(nw.col("value").mean().alias("first_value"))
    )
    spend = (
        purchases.group_by("customer_id")
        .agg(nw.col("value").sum().alias("spend"))
        .join(first_value, on="customer_id")
        .select(
            "customer_id",
            (nw.col("spend") - nw.col("first_value")).alias("repeat_spend"),
        )
        .sort("customer_id")  # as the customer table: matched without a lookup
    )
    return to_pandas(spend)


def customer_summary(
    rfm: pd.DataFrame, repeat_spend: pd.DataFrame, unit_days: float
) -> pd.DataFrame:
    """The models' statistics per customer, times in units of ``unit_days`` days:
    ``x`` repeat purchases (frequency - 1), ``t_x`` the last purchase's time since the
    first (tenure - recency), ``T`` the time from the first purchase to the as-of date
    (tenure) and ``m_x`` the mean repeat-purchase value (0 without repeat purchases)."""
    rows = positions_of(rfm["customer_id"], repeat_spend["customer_id"])
    if missing := (rows < 0).sum():
        raise ValueError(
            f"{missing} customers of rfm_features have no purchases in "
            "clean_transactions up to the as-of date: the two come from different runs"
        )
    x = rfm["frequency"].to_numpy(dtype=float) - 1
    tenure = rfm["tenure"].to_numpy(dtype=float)
    spend = repeat_spend["repeat_spend"].to_numpy(dtype=float)[rows]
    return pd.DataFrame(
        {
            "customer_id": rfm["customer_id"].array,  # no Python string per id
            "x": x,
            "t_x": np.where(x > 0, tenure - rfm["recency"].to_numpy(), 0) / unit_days,
            "T": tenure / unit_days,
            "m_x": np.divide(spend, x, out=np.zeros_like(x), where=x > 0),
        }
    )


def model_report(
    fits: Fits, summary: pd.DataFrame, customer_value: dict[str, Any]
) -> dict[str, Any]:
    """The fitted parameters (time unit ``customer_value.time_unit``; v in money),
    log-likelihoods and standard errors (of the customers fitted on; None where
    not identified), the horizon in time units and in days, how many customers and
    repeat buyers there are, and how many customers the models were fitted on. A
    model the data cannot identify is None, and ``not_estimated`` says why."""
    unit = _unit_days(customer_value)
    bg_nbd, gamma_gamma = fits.bg_nbd, fits.gamma_gamma
    return {
        "time_unit": customer_value["time_unit"],
        "horizon": customer_value["horizon_days"] / unit,
        "horizon_days": customer_value["horizon_days"],
        "bg_nbd": None
        if bg_nbd is None
        else {
            "r": bg_nbd.r,
            "alpha": bg_nbd.alpha,
            "a": bg_nbd.a,
            "b": bg_nbd.b,
            "log_likelihood": bg_nbd.log_likelihood,
        },
        "gamma_gamma": None
        if gamma_gamma is None
        else {
            "p": gamma_gamma.p,
            "q": gamma_gamma.q,
            "v": gamma_gamma.v,
            "log_likelihood": gamma_gamma.log_likelihood,
        },
        "standard_errors": {
            name: _finite(fit.standard_errors)
            for name, fit in (("bg_nbd", bg_nbd), ("gamma_gamma", gamma_gamma))
            if fit is not None
        },
        "not_estimated": fits.not_estimated,
        "n_customers": len(summary),
        "n_repeat_buyers": int((summary["x"] > 0).sum()),
        "n_fitted": fits.n_fitted,
    }


def backtest_customer_value(
    clean_transactions: Any,
    rfm_features: Any,
    segmentation_model: Pipeline,
    segment_naming: SegmentNaming,
    customer_value: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The models refitted on the purchases before the cutoff, ``as_of -
    holdout_days``, and each customer of that time with their segment then (the
    run's model, as the segment history assigns it), their calibration repeat
    purchases ``x``, and predicted and actual purchases and spend in the holdout
    [cutoff, as_of). Returns that table and the calibration fit's report; where the
    data end before a calibration period begins, an empty table and the reason."""
    unit = _unit_days(customer_value)
    as_of, first = feature_dates(rfm_features)
    cutoff = as_of - pd.Timedelta(days=customer_value["holdout_days"])
    report: dict[str, Any] = {
        "as_of": as_of.date().isoformat(),
        "cutoff": cutoff.date().isoformat(),
        "holdout_days": customer_value["holdout_days"],
    }
    if cutoff <= first:
        reason = (
            f"customer_value.holdout_days = {customer_value['holdout_days']} leaves no "
            f"calibration period: the cutoff {cutoff.date()} is not after the first "
            f"purchase ({first.date()})"
        )
        logger.warning("Backtest not run: %s; lower it to backtest", reason)
        return pd.DataFrame(columns=list(HOLDOUT_COLUMNS)).astype(HOLDOUT_COLUMNS), {
            **report,
            "not_run": reason,
        }
    calibration = compute_rfm_features(
        aggregate_customer_activity(
            clean_transactions,
            (cutoff - pd.Timedelta(days=1)).date().isoformat(),
            columns={},  # the calibration needs no carried columns
        ),
        cutoff.date().isoformat(),
    )
    summary = customer_summary(
        calibration, repeat_spend(clean_transactions, cutoff.to_pydatetime()), unit
    )
    fits = _fit(summary, customer_value, "backtest calibration")
    horizon = customer_value["holdout_days"] / unit
    predicted = _scores(fits, summary, horizon)
    segments = segmenter_of(segmentation_model, segment_naming).assign(
        calibration[FEATURES].to_numpy(dtype=float),
        calibration["tenure"].to_numpy(dtype=float),
    )
    actual = _holdout_activity(
        clean_transactions, cutoff.to_pydatetime(), as_of.to_pydatetime()
    )
    rows = positions_of(summary["customer_id"], actual["customer_id"])
    bought = rows >= 0
    table = pd.DataFrame(
        {
            "customer_id": summary["customer_id"],
            "segment_name": segments.names,
            "x": summary["x"].astype("int64"),
            "p_alive": predicted["p_alive"],
            "predicted_purchases": predicted["expected_purchases"],
            "predicted_value": predicted["expected_value"],
            **{
                name: np.where(bought, actual[name].to_numpy()[rows], 0)
                for name in ("actual_purchases", "actual_value")
            },
        }
    )
    report |= {
        "new_in_holdout": len(actual) - int(bought.sum()),
        "calibration": model_report(
            fits,
            summary,
            {**customer_value, "horizon_days": customer_value["holdout_days"]},
        ),
    }
    return table.astype(HOLDOUT_COLUMNS), report


def summarise_backtest(
    customer_value_holdout: pd.DataFrame, customer_value_calibration_fit: dict[str, Any]
) -> dict[str, Any]:
    """The backtest report: the calibration fit, and in total and per segment (at
    the cutoff) the customers, predicted and actual holdout purchases and spend
    (sums, per customer, mean absolute error per customer) and the segments' own
    out-of-time behaviour: the share who bought again and revenue per customer."""
    holdout = customer_value_holdout
    by_segment = dict(tuple(holdout.groupby("segment_name", sort=False)))
    return {
        **customer_value_calibration_fit,
        "total": _compared(holdout),
        "segments": [
            {"segment_name": name, **_compared(by_segment[name])}
            for name in segment_order(by_segment)
        ],
    }


def _compared(rows: pd.DataFrame) -> dict[str, Any]:
    result: dict[str, Any] = {"customers": len(rows)}
    for measure, digits in (("purchases", 4), ("value", 2)):
        predicted = rows[f"predicted_{measure}"].astype(float)
        actual = rows[f"actual_{measure}"].astype(float)
        result[measure] = {
            "predicted": _rounded(predicted.sum(min_count=1), digits),
            "actual": round(float(actual.sum()), digits),
            "predicted_per_customer": _rounded(predicted.mean(), 4),
            "actual_per_customer": _rounded(actual.mean(), 4),
            "mean_absolute_error": _rounded((predicted - actual).abs().mean(), 4),
        }
    result["bought_again_share"] = _rounded((rows["actual_purchases"] > 0).mean(), 4)
    result["revenue_per_customer"] = _rounded(rows["actual_value"].mean(), 2)
    result["p_alive_mean"] = _rounded(rows["p_alive"].mean(), 4)
    return result


def _rounded(value: float, digits: int) -> float | None:
    """``value`` rounded; None where it is not a number (no customers, no model)."""
    return round(float(value), digits) if np.isfinite(value) else None


@dataclass(frozen=True)
class Fits:
    """Both models, each None where the data cannot identify it (``not_estimated``
    says why), and how many customers they were fitted on."""

    bg_nbd: BgNbdFit | None
    gamma_gamma: GammaGammaFit | None
    not_estimated: dict[str, str]
    n_fitted: int


def _fit(summary: pd.DataFrame, customer_value: dict[str, Any], purpose: str) -> Fits:
    """Both models, on a seeded sample of ``customer_value.fit_sample_size``
    customers when there are more (four and three parameters: a few hundred
    thousand customers pin them down) and the sample keeps ``MIN_REPEAT_BUYERS``
    repeat buyers (else on everyone: a shop of few repeat buyers needs them all),
    with a warning naming the ``purpose`` for a model the data cannot identify."""
    columns = [summary[c].to_numpy() for c in ("x", "t_x", "T", "m_x")]
    rows = sample_rows(
        len(summary), customer_value["fit_sample_size"], customer_value["random_state"]
    )
    if (columns[0][rows] > 0).sum() < MIN_REPEAT_BUYERS:
        rows = slice(None)
    x, t_x, T, m_x = (column[rows] for column in columns)
    fits: dict[str, Any] = {}
    not_estimated: dict[str, str] = {}
    for name, fit in (
        ("bg_nbd", lambda: fit_bg_nbd(x, t_x, T)),
        ("gamma_gamma", lambda: fit_gamma_gamma(x, m_x)),
    ):
        try:
            fits[name] = fit()
        except NotEstimable as reason:
            fits[name] = None
            not_estimated[name] = str(reason)
            logger.warning(
                "%s: the %s model is not estimated, its columns stay empty: %s",
                purpose,
                MODEL_NAMES[name],
                reason,
            )
    return Fits(fits["bg_nbd"], fits["gamma_gamma"], not_estimated, len(x))


def _scores(fits: Fits, summary: pd.DataFrame, horizon: float) -> dict[str, np.ndarray]:
    """Each customer's value columns; nan for what a missing model would give."""
    x, t_x, T, m_x = (summary[c].to_numpy() for c in ("x", "t_x", "T", "m_x"))
    bg_nbd, gamma_gamma = fits.bg_nbd, fits.gamma_gamma
    empty = np.full(len(x), np.nan)
    if bg_nbd is None:
        return dict.fromkeys(VALUE_COLUMNS, empty)
    purchases = bg_nbd.expected_purchases(horizon, x, t_x, T)
    return {
        "p_alive": bg_nbd.p_alive(x, t_x, T),
        "expected_purchases": purchases,
        # expected_value's product, the purchases computed once
        "expected_value": empty
        if gamma_gamma is None
        else purchases * gamma_gamma.expected_spend(x, m_x),
    }


def _holdout_activity(
    clean_transactions: Any, start: datetime, end: datetime
) -> pd.DataFrame:
    """Per customer, the purchases and spend of the transactions in [start, end)."""
    frame = as_lazy(clean_transactions).filter(
        nw.col("invoiced_at") >= nw.lit(start), _before(end)
    )
    activity = (
        _purchases(frame)
        .group_by("customer_id")
        .agg(
            nw.len().alias("actual_purchases"),
            nw.col("value").sum().alias("actual_value"),
        )
    )
    return to_pandas(activity)


def _purchases(frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """One row per purchase (a distinct invoice, or purchase day without an invoice
    column): customer, time of its first line and value."""
    purchase = "invoice_id"
    if purchase not in frame.collect_schema().names():
        purchase = "purchase_day"
        frame = frame.with_columns(purchase_day=nw.col("invoiced_at").dt.truncate("1d"))
    return frame.group_by("customer_id", purchase).agg(
        nw.col("invoiced_at").min().alias("at"),
        nw.col("line_amount").sum().alias("value"),
    )


def _before(moment: datetime) -> nw.Expr:
    return nw.col("invoiced_at") < nw.lit(moment)


def _unit_days(customer_value: dict[str, Any]) -> int:
    unit = customer_value["time_unit"]
    if unit not in TIME_UNITS:
        raise ValueError(
            f"customer_value.time_unit must be one of {', '.join(TIME_UNITS)}, "
            f"got {unit!r}"
        )
    return TIME_UNITS[unit]


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    return {k: (v if np.isfinite(v) else None) for k, v in values.items()}
