"""Snapshots, segment history and migrations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from rfm_segmentation import history as history_module
from rfm_segmentation.catalog import load_catalog
from rfm_segmentation.history import ABSENT, ENTERED, SegmentHistory
from rfm_segmentation.model import FEATURES, segmenter_of
from rfm_segmentation.pipelines.segment_history.figures import migration_sankey
from rfm_segmentation.pipelines.segment_history.nodes import (
    biggest_flows,
    choose_snapshot_dates,
    summarise_migrations,
)
from rfm_segmentation.slices import pipeline_of, run_slice

ENGINES = {
    "polars": lambda frame: frame.lazy(),
    "pandas": lambda frame: frame.to_pandas(),
}


@pytest.fixture(scope="module")
def prepared(small_transactions, params) -> dict:
    return run_slice(
        pipeline_of("data_processing", "feature_engineering"),
        {"raw_transactions": small_transactions.cast(pl.String).lazy()},
        params,
    )


def history_of(prepared, params, engine="polars", **snapshots) -> dict:
    clean = prepared["clean_transactions"].collect()
    return run_slice(
        pipeline_of("clustering", "segment_history"),
        {
            "clean_transactions": ENGINES[engine](clean),
            "rfm_features": prepared["rfm_features"],
        },
        {**params, "snapshots": {**params["snapshots"], **snapshots}},
    )


@pytest.fixture(scope="module")
def outputs(prepared, params) -> dict:
    return history_of(prepared, params)


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
def test_earlier_snapshots_equal_a_direct_computation_at_each_date(
    prepared, params, engine
):
    history = history_of(prepared, params, engine)["segment_history"]
    long = history.long()
    clean = prepared["clean_transactions"].collect().to_pandas()
    assert len(history.snapshots) == 12
    for snapshot in history.snapshots[:-1]:
        got = long[long["snapshot"] == snapshot].set_index("customer_id")
        expected = reference(clean, snapshot)
        pd.testing.assert_frame_equal(
            got[expected.columns].sort_index(),
            expected.sort_index(),
            check_dtype=False,
            atol=0.01,
        )


def test_the_last_snapshot_is_the_as_of_date_and_is_the_customer_table(outputs):
    history, table = outputs["segment_history"], outputs["customer_segments"]
    assert history.snapshots[-1] == table["as_of"].iloc[0]
    last = history.long().query(f"snapshot == '{history.snapshots[-1]}'")
    pd.testing.assert_frame_equal(
        last.drop(columns="snapshot").reset_index(drop=True),
        table[["customer_id", *FEATURES, "tenure", "segment_name"]],
        check_dtype=False,
    )


def test_every_snapshot_is_named_by_the_one_assignment(outputs):
    history = outputs["segment_history"]
    segmenter = segmenter_of(
        outputs["segmentation_model"], outputs["segment_profile"].naming
    )
    for s in range(len(history.snapshots) - 1):
        present = history.codes[s] != ABSENT
        rfm = np.column_stack([getattr(history, f)[s, present] for f in FEATURES])
        names = segmenter.assign(rfm, history.tenure[s, present]).names
        got = np.asarray(history.segment_names, dtype=object)[history.codes[s, present]]
        assert (names == got).all()


def test_a_customer_is_present_exactly_from_the_first_snapshot_after_buying(
    prepared, outputs
):
    history = outputs["segment_history"]
    clean = prepared["clean_transactions"].collect()
    first = (
        clean.group_by("customer_id")
        .agg(pl.col("invoiced_at").min())
        .to_pandas()
        .set_index("customer_id")["invoiced_at"]
    )
    dates = history.snapshots
    later = first[first >= pd.Timestamp(dates[6])]
    assert len(later) > 10  # customers whose first purchase is after snapshot 6
    column = {c: i for i, c in enumerate(history.customer_ids)}
    for customer, bought in later.items():
        present = history.codes[:, column[customer]] != ABSENT
        assert [d for d, p in zip(dates, present, strict=True) if p] == [
            d for d in dates if pd.Timestamp(d) > bought
        ]


def table_as_of(as_of: str, first: str) -> pd.DataFrame:
    return pd.DataFrame({"as_of": [as_of], "first_purchase": [first]})


def test_default_dates_end_at_the_as_of_date_the_latest_month_start_moved_there():
    monthly = {"frequency": "MS", "count": 12}
    dates = choose_snapshot_dates(table_as_of("2011-12-10", "2010-12-01"), monthly)
    assert dates == [f"2011-{m:02d}-01" for m in range(1, 12)] + ["2011-12-10"]
    on_a_month_start = choose_snapshot_dates(
        table_as_of("2011-12-01", "2010-12-01"), monthly
    )
    assert on_a_month_start[-2:] == ["2011-11-01", "2011-12-01"]
    explicit = choose_snapshot_dates(
        table_as_of("2011-12-10", "2010-12-01"),
        {"dates": ["2011-09-01", "2011-06-01"]},
    )
    assert explicit == ["2011-06-01", "2011-09-01", "2011-12-10"]
    one_week = choose_snapshot_dates(table_as_of("2011-12-09", "2011-12-02"), monthly)
    assert one_week == ["2011-12-09"]


def history(
    *columns: list[str | None], names=("Champions", "At-Risk")
) -> SegmentHistory:
    """A history of customers a, b, c, ... whose segment at each snapshot is given
    one snapshot per argument (None: not a customer yet)."""
    codes = np.array(
        [[ABSENT if n is None else names.index(n) for n in col] for col in columns],
        dtype=np.int8,
    )
    zeros = np.zeros(codes.shape, dtype=np.int32)
    return SegmentHistory(
        customer_ids=np.array(list("abcdefgh"[: codes.shape[1]]), dtype=object),
        snapshots=tuple(f"2011-0{s + 1}-01" for s in range(len(columns))),
        segment_names=names,
        codes=codes,
        recency=zeros,
        frequency=zeros + 1,
        monetary=zeros.astype(float),
        tenure=zeros,
    )


def test_one_snapshot_gives_no_migrations_and_an_explaining_figure():
    consecutive, everything = summarise_migrations(history(["Champions"]))
    assert consecutive.empty and everything.empty
    assert biggest_flows(consecutive, 10).empty
    plotly_figure, figure = migration_sankey(consecutive)
    assert "two snapshots" in plotly_figure.layout.annotations[0].text
    assert figure.axes


def test_transitions_count_every_customer_present_at_the_later_snapshot():
    h = history(
        ["Champions", "At-Risk", None, None],
        ["At-Risk", "Champions", "At-Risk", "At-Risk"],
        ["At-Risk", "Champions", "At-Risk", "Champions"],
    )
    consecutive, everything = summarise_migrations(h)
    first = consecutive[consecutive["to"] == "2011-02-01"]
    moves = {(r.from_segment, r.to_segment): r.customers for r in first.itertuples()}
    assert moves == {
        ("Champions", "At-Risk"): 1,
        ("At-Risk", "Champions"): 1,
        (ENTERED, "At-Risk"): 2,
    }
    assert set(zip(everything["from"], everything["to"], strict=True)) == {
        ("2011-01-01", "2011-02-01"),
        ("2011-01-01", "2011-03-01"),
        ("2011-02-01", "2011-03-01"),
    }
    assert (consecutive.groupby(["to", "from_segment"])["share"].sum() == 1).all()
    highlights = biggest_flows(consecutive, 10)
    assert "between 2011-02-01 and 2011-03-01" in highlights["summary"].iloc[0]
    np.testing.assert_array_equal(h.movers(0, 2, None, 1), [2])  # c


def test_transitions_are_the_same_counted_in_chunks(monkeypatch):
    rng = np.random.default_rng(3)
    names = ("Champions", "At-Risk", "Lost Customers")
    columns = [
        [None if c < 0 else names[c] for c in rng.integers(-1, 3, 50)] for _ in range(4)
    ]
    whole = summarise_migrations(history(*columns, names=names))[1]
    monkeypatch.setattr(history_module, "TRANSITION_CHUNK", 7)
    chunked = summarise_migrations(history(*columns, names=names))[1]
    pd.testing.assert_frame_equal(chunked, whole)
    assert whole["customers"].sum() > 0


def test_the_catalog_hands_later_nodes_the_history_itself(project_factory):
    """A copy per node that reads it would be gigabytes at ten million customers."""
    catalog = load_catalog(project_factory(), names=["segment_history"])
    saved = history(["Champions", None], ["At-Risk", "Champions"])
    catalog.save("segment_history", saved)
    assert catalog.load("segment_history") is saved
