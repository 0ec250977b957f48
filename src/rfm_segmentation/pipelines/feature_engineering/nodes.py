"""Nodes of the feature_engineering pipeline.

The transaction-level aggregation is narwhals (any engine); the customer-level
table it produces is small and continues in pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import pyarrow as pa

from rfm_segmentation.frames import as_lazy, to_pandas
from rfm_segmentation.pipelines.data_processing.schema import passthrough_columns

SCORE_BINS = 5
ACTIVITY_COLUMNS = (
    "customer_id",
    "first_purchase_at",
    "last_purchase_at",
    "frequency",
    "monetary",
)


def aggregate_customer_activity(
    clean_transactions: Any, snapshot_date: str | None, columns: Mapping[str, Any]
) -> pd.DataFrame:
    """One row per customer: first and last purchase, purchases and spend, and each
    ``columns.passthrough`` column's value on the latest purchase (the largest where its
    lines differ; missing values skipped).

    Purchases are distinct invoices, or distinct purchase days where the data has no
    invoice column. With a snapshot date, transactions after that day are ignored.
    """
    frame = as_lazy(clean_transactions)
    if snapshot_date:
        day_after = datetime.fromisoformat(str(snapshot_date)) + timedelta(days=1)
        frame = frame.filter(nw.col("invoiced_at") < nw.lit(day_after))
    purchase = "invoice_id"
    if purchase not in frame.collect_schema().names():
        purchase = "purchase_day"
        frame = frame.with_columns(purchase_day=nw.col("invoiced_at").dt.truncate("1d"))
    activity = frame.group_by("customer_id").agg(
        nw.col("invoiced_at").min().alias("first_purchase_at"),
        nw.col("invoiced_at").max().alias("last_purchase_at"),
        nw.col(purchase).n_unique().alias("frequency"),
        nw.col("line_amount").sum().alias("monetary"),
    )
    if carried := passthrough_columns(columns):
        latest = (
            frame.join(
                activity.select("customer_id", "last_purchase_at"), "customer_id"
            )
            .filter(nw.col("invoiced_at") == nw.col("last_purchase_at"))
            .group_by("customer_id")
            .agg(*(nw.col(name).max() for name in carried))
        )
        activity = activity.join(latest, "customer_id", how="left")
    return to_pandas(activity.sort("customer_id")).reset_index(drop=True)


def compute_rfm_features(
    customer_activity: pd.DataFrame, snapshot_date: str | None
) -> pd.DataFrame:
    """Recency, frequency, monetary, their 1-5 quintile scores, tenure, the as-of
    date and the first and last purchase days per customer.

    Recency is whole days from the day of the last purchase to the snapshot date
    (``as_of``), which defaults to the day after the last transaction (so the most
    recent buyers have recency 1, and purchases on an explicit snapshot day give 0).
    Tenure is whole days from the day of the first purchase to the snapshot date.
    The activity's other columns (``columns.passthrough``) follow the customer id.
    """
    last_day = pd.to_datetime(customer_activity["last_purchase_at"]).dt.normalize()
    first_day = pd.to_datetime(customer_activity["first_purchase_at"]).dt.normalize()
    snapshot = (
        pd.Timestamp(snapshot_date)
        if snapshot_date
        else last_day.max() + pd.Timedelta(days=1)
    )
    features = pd.DataFrame(
        {
            "customer_id": customer_activity["customer_id"],
            **{
                name: customer_activity[name]
                for name in customer_activity.columns
                if name not in ACTIVITY_COLUMNS
            },
            "recency": (snapshot - last_day).dt.days.astype("int64"),
            "frequency": customer_activity["frequency"].astype("int64"),
            "monetary": customer_activity["monetary"].astype(float).round(2),
        }
    )
    features["r_score"] = quintile_score(features["recency"], higher_is_better=False)
    features["f_score"] = quintile_score(features["frequency"])
    features["m_score"] = quintile_score(features["monetary"])
    features["rfm_score"] = as_text(
        features["r_score"] * 100 + features["f_score"] * 10 + features["m_score"]
    )
    features["tenure"] = (snapshot - first_day).dt.days.astype("int64")
    features["as_of"] = snapshot.date().isoformat()
    features["first_purchase"] = as_text(first_day)
    features["last_purchase"] = as_text(last_day)
    return features


def as_text(values: pd.Series) -> pd.Series:
    """Numbers as digits, days as ISO dates (2011-12-09), by Arrow's cast: ~7x
    pandas' ``astype(str)`` and ``strftime`` at a million customers."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)  # the days on the timestamps' own clock
    array = values.to_numpy()
    if pd.api.types.is_datetime64_dtype(values):
        array = array.astype("datetime64[D]")
    text = pa.array(array).cast(pa.string())
    return pd.Series(text, index=values.index, dtype="str")


def feature_dates(rfm_features: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The features' as-of date and their earliest first purchase day, on any
    engine (one row crosses to the driver)."""
    as_of, first = (
        as_lazy(rfm_features)
        .select(nw.col("as_of").max(), nw.col("first_purchase").min())
        .collect()
        .row(0)
    )
    return pd.Timestamp(as_of), pd.Timestamp(first)


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Scores 1-5 (5 best) by rank; equal values always get the same score.

    Ties take their lowest rank, so a value shared by many customers (frequency 1)
    lands in one bin instead of being split at random across several.
    """
    ranks = values.rank(method="min", ascending=higher_is_better)
    return (1 + np.floor(SCORE_BINS * (ranks - 1) / len(values))).astype("int64")
