"""Snapshots, segment history and migrations."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

from rfm_segmentation.history import ENTERED, LEFT, transitions
from rfm_segmentation.pipelines.segment_history.figures import migration_sankey
from rfm_segmentation.pipelines.segment_history.nodes import (
    biggest_flows,
    choose_snapshot_dates,
    summarise_migrations,
)
from rfm_segmentation.slices import pipeline_of, run_slice

SNAPSHOT_NODES = ["aggregate_snapshot_activity", "compute_snapshot_features"]
ENGINES = {
    "polars": lambda frame: frame.lazy(),
    "pandas": lambda frame: frame.to_pandas(),
}


def clean_and_activity(raw: pl.DataFrame, params) -> dict:
    return run_slice(
        pipeline_of("data_processing", "feature_engineering"),
        {"raw_transactions": raw.cast(pl.String).lazy()},
        params,
    )


@pytest.fixture(scope="module")
def prepared(small_transactions, params) -> dict:
    return clean_and_activity(small_transactions, params)


def snapshot_features(clean, activity, params, engine="polars", **snapshots) -> tuple:
    outputs = run_slice(
        pipeline_of("segment_history").only_nodes(
            "choose_snapshot_dates", *SNAPSHOT_NODES
        ),
        {"clean_transactions": ENGINES[engine](clean), "customer_activity": activity},
        {**params, "snapshots": {**params["snapshots"], **snapshots}},
    )
    return outputs["snapshot_dates"], outputs["snapshot_features"]


def reference(clean: pd.DataFrame, snapshot: str) -> pd.DataFrame:
    """RFM and tenure at one date, computed directly: only purchases before it."""
    before = clean[clean["invoiced_at"] < pd.Timestamp(snapshot)]
    day = before["invoiced_at"].dt.normalize()
    per_customer = before.assign(day=day).groupby("customer_id")
    table = pd.DataFrame(
        {
            "recency": (pd.Timestamp(snapshot) - per_customer["day"].max()).dt.days,
            "frequency": per_customer["invoice_id"].nunique(),
            "monetary": per_customer["line_amount"].sum().round(2),
            "tenure": (pd.Timestamp(snapshot) - per_customer["day"].min()).dt.days,
        }
    )
    table.index = table.index.astype(str)
    return table


@pytest.mark.parametrize("engine", list(ENGINES))
def test_snapshot_features_equal_a_direct_computation_at_each_date(
    prepared, params, engine
):
    clean = prepared["clean_transactions"].collect()
    dates, features = snapshot_features(
        clean, prepared["customer_activity"], params, engine
    )
    assert len(dates) == 12
    clean_pandas = clean.to_pandas()
    for snapshot in dates:
        got = features[features["snapshot"] == snapshot].set_index("customer_id")
        got.index = got.index.astype(str)
        expected = reference(clean_pandas, snapshot)
        pd.testing.assert_frame_equal(
            got[expected.columns].sort_index(),
            expected.sort_index(),
            check_dtype=False,
            atol=0.01,
        )


def test_a_customer_is_present_exactly_from_the_first_snapshot_after_buying(
    prepared, params
):
    clean = prepared["clean_transactions"].collect()
    dates, features = snapshot_features(clean, prepared["customer_activity"], params)
    first = (
        clean.group_by("customer_id")
        .agg(pl.col("invoiced_at").min())
        .to_pandas()
        .set_index("customer_id")["invoiced_at"]
    )
    later = first[first >= pd.Timestamp(dates[6])]
    assert len(later) > 10  # customers whose first purchase is after snapshot 6
    for customer, bought in later.items():
        present = features.loc[features["customer_id"] == customer, "snapshot"]
        assert present.tolist() == [d for d in dates if pd.Timestamp(d) > bought]


def test_default_dates_are_the_last_month_ends_the_data_covers(prepared, params):
    dates = choose_snapshot_dates(prepared["customer_activity"], params["snapshots"])
    assert dates[-1] == "2011-12-01"  # data ends 2011-12-08: December is not over
    assert dates[0] == "2011-01-01"
    explicit = choose_snapshot_dates(
        prepared["customer_activity"], {"dates": ["2011-09-01", "2011-06-01"]}
    )
    assert explicit == ["2011-06-01", "2011-09-01"]
    one_week = pd.DataFrame(
        {"first_purchase_at": ["2011-12-02"], "last_purchase_at": ["2011-12-08"]}
    )
    assert choose_snapshot_dates(one_week, {"frequency": "MS", "count": 12}) == [
        "2011-12-09"  # one snapshot: the day after the data, as the model's own
    ]


def test_one_snapshot_gives_no_migrations_and_an_explaining_figure():
    history = pd.DataFrame(
        {
            "customer_id": ["a"],
            "snapshot": ["2011-12-09"],
            "segment_name": ["Champions"],
        }
    )
    migrations = summarise_migrations(history)
    assert migrations.empty
    assert biggest_flows(migrations, 10).empty
    plotly_figure, figure = migration_sankey(migrations)
    assert "two snapshots" in plotly_figure.layout.annotations[0].text
    assert figure.axes


def test_transition_counts_add_up_to_customers_present_plus_entered_and_left():
    history = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "a", "b", "d", "e"],
            "snapshot": ["s1"] * 3 + ["s2"] * 4,
            "segment_name": [
                "Champions",
                "New Customers",
                "At-Risk",
                "At-Risk",
                "Champions",
                "New Customers",
                "New Customers",
            ],
        }
    )
    table = transitions(history, "s1", "s2")
    both, entered, left = 2, 2, 1  # a, b | d, e | c
    assert table["customers"].sum() == both + entered + left
    moves = {(r.from_segment, r.to_segment): r.customers for r in table.itertuples()}
    assert moves == {
        ("Champions", "At-Risk"): 1,
        ("At-Risk", LEFT): 1,
        ("New Customers", "Champions"): 1,
        (ENTERED, "New Customers"): 2,
    }
    shares = table.groupby("from_segment")["share"].sum()
    assert (shares.round(3) == 1).all()
