from __future__ import annotations

import pandas as pd
import polars as pl

from rfm_segmentation.pipelines.feature_engineering.nodes import quintile_score
from rfm_segmentation.slices import feature_pipeline, pipeline_of, run_slice


def clean_frame(rows: list[tuple[str, str, str, float]]) -> pl.LazyFrame:
    """Clean transactions (customer, invoice, timestamp, amount) as the pipeline has them."""
    return (
        pl.DataFrame(
            rows,
            schema=["customer_id", "invoice_id", "invoiced_at", "line_amount"],
            orient="row",
        )
        .lazy()
        .with_columns(pl.col("invoiced_at").str.to_datetime("%Y-%m-%d %H:%M"))
    )


def rfm(clean, snapshot_date=None, passthrough=()) -> pd.DataFrame:
    """The feature_engineering pipeline on clean transactions, indexed by customer."""
    outputs = run_slice(
        pipeline_of("feature_engineering"),
        {"clean_transactions": clean},
        {
            "rfm": {"snapshot_date": snapshot_date},
            "columns": {"customer_id": "CustomerID", "passthrough": list(passthrough)},
        },
    )
    return outputs["rfm_features"].set_index("customer_id")


ROWS = [
    ("a", "1", "2011-01-01 09:00", 10.0),
    ("a", "1", "2011-01-01 09:00", 5.0),  # same invoice: one purchase
    ("a", "2", "2011-03-01 17:30", 20.0),
    ("b", "3", "2011-02-15 10:00", 7.5),  # one purchase only
    ("c", "4", "2011-03-02 08:00", 1.0),
]


def test_default_snapshot_is_the_day_after_the_last_transaction():
    features = rfm(clean_frame(ROWS))
    assert features.loc["c", "recency"] == 1  # bought on the last day
    assert features.loc["a", "recency"] == 2  # a day before, late in the day
    assert features.loc["a", "frequency"] == 2
    assert features.loc["a", "monetary"] == 35.0
    assert (features.loc["b", "frequency"], features.loc["b", "monetary"]) == (1, 7.5)


def test_purchases_on_the_snapshot_day_count_and_later_ones_are_ignored():
    features = rfm(clean_frame(ROWS), snapshot_date="2011-03-01")
    assert features.loc["a", "recency"] == 0  # bought at 17:30 on the snapshot day
    assert "c" not in features.index  # only bought after the snapshot
    assert features.loc["b", "recency"] == 14


def test_without_invoices_distinct_purchase_days_count_as_purchases():
    clean = clean_frame(ROWS).drop("invoice_id")
    features = rfm(clean)
    assert features.loc["a", "frequency"] == 2  # 1 Jan (two lines) and 1 Mar


def test_scores_are_1_to_5_with_5_best_and_ties_share_a_score():
    values = pd.Series([1, 1, 1, 1, 2, 3, 4, 5, 6, 7])
    scores = quintile_score(values)
    assert scores[:4].nunique() == 1  # four customers with 1 purchase: one score
    assert scores.min() == 1
    assert scores.max() == 5
    assert scores.is_monotonic_increasing
    recency_scores = quintile_score(
        pd.Series([300, 200, 100, 10, 1]), higher_is_better=False
    )
    assert recency_scores.tolist() == [1, 2, 3, 4, 5]


def test_rfm_score_concatenates_the_three_scores():
    features = rfm(clean_frame(ROWS))
    row = features.loc["a"]
    assert row["rfm_score"] == f"{row.r_score}{row.f_score}{row.m_score}"


def test_pandas_and_polars_give_equal_features(small_transactions, params):
    def features(raw):
        inputs = {"raw_transactions": raw}
        return run_slice(feature_pipeline(), inputs, params)["rfm_features"]

    text = small_transactions.cast(pl.String)
    from_polars = features(text.lazy())
    from_pandas = features(text.to_pandas())
    assert len(from_polars) > 100
    pd.testing.assert_frame_equal(from_polars, from_pandas, check_dtype=False)


def test_passthrough_columns_carry_the_latest_purchases_value_after_the_id():
    clean = clean_frame(ROWS).with_columns(
        Country=pl.Series(["France", "France", "Spain", None, "EIRE"])
    )
    features = rfm(clean, passthrough=["Country"])
    assert features.columns[0] == "Country"
    assert features.loc[["a", "c"], "Country"].tolist() == ["Spain", "EIRE"]
    assert pd.isna(features.loc["b", "Country"])  # missing on its latest purchase


def test_timestamps_with_a_time_zone_give_the_days_on_their_own_clock():
    """Dates are the local days of the timestamps, as without a time zone."""
    naive = clean_frame(ROWS)
    tokyo = naive.with_columns(pl.col("invoiced_at").dt.replace_time_zone("Asia/Tokyo"))
    columns = ["recency", "tenure", "as_of", "first_purchase", "last_purchase"]
    expected = rfm(naive)[columns]
    assert expected.loc["a", "first_purchase"] == "2011-01-01"
    pd.testing.assert_frame_equal(rfm(tokyo)[columns], expected)
