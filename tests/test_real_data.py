"""Checks on the real UCI Online Retail file; skipped where ../shared is absent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from rfm_segmentation.segments import SEGMENT_NAMES

from .support import (
    REAL_DATA,
    make_project,
    newest_release,
    read_segments,
    run_kedro,
    source_id,
)

SOURCE_ID = source_id()


pytestmark = [
    pytest.mark.slow,
    pytest.mark.real_data,
    pytest.mark.skipif(
        not REAL_DATA.exists(), reason=f"{REAL_DATA} is not on this machine"
    ),
]
RETAIL_II_NAMES = {
    "InvoiceNo": "Invoice",
    "UnitPrice": "Price",
    SOURCE_ID: "Customer ID",
}


@pytest.fixture(scope="module")
def uci_project(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("uci"))
    run_kedro(project, runtime_params={"raw_transactions_path": str(REAL_DATA)})
    return project


def test_4338_customers_in_segments_ordered_as_their_names_say(uci_project):
    segments = read_segments(uci_project)
    assert segments[SOURCE_ID].nunique() == len(segments) == 4338
    means = segments.groupby("segment_name")[
        ["recency", "frequency", "monetary"]
    ].mean()
    champions, at_risk, new, lost = (
        means.loc[name]
        for name in ("Champions", "At-Risk", "New Customers", "Lost Customers")
    )
    assert champions.recency == means.recency.min()
    assert champions.frequency == means.frequency.max()
    assert champions.monetary == means.monetary.max()
    assert lost.recency == means.recency.max()
    assert lost.monetary == means.monetary.min()
    assert new.recency < at_risk.recency < lost.recency
    assert new.frequency < at_risk.frequency
    assert at_risk.monetary > max(new.monetary, lost.monetary)
    assert at_risk.recency > max(champions.recency, new.recency)


def test_reference_request_is_a_new_customer(uci_project):
    release = newest_release(uci_project)
    (label,) = release.model.predict(np.array([[15, 2, 350.75]]))
    assert release.profile.names[label] == "New Customers"


def test_online_retail_ii_names_give_the_same_result_through_parameters(
    uci_project, project_factory
):
    project = project_factory()
    renamed = project / "data/01_raw/online_retail_ii.csv"
    pl.read_csv(REAL_DATA, infer_schema=False).rename(RETAIL_II_NAMES).write_csv(
        renamed
    )
    columns = {
        "customer_id": "Customer ID",
        "invoice_id": "Invoice",
        "unit_price": "Price",
    }
    run_kedro(
        project,
        runtime_params={"raw_transactions_path": str(renamed), "columns": columns},
    )
    expected = read_segments(uci_project).rename(columns={SOURCE_ID: "Customer ID"})
    pd.testing.assert_frame_equal(read_segments(project, "Customer ID"), expected)


def test_us_dates_and_float_ids_give_the_same_result(uci_project, project_factory):
    project = project_factory()
    variant = project / "data/01_raw/online_retail_us.csv"
    pl.read_csv(REAL_DATA, infer_schema=False).with_columns(
        pl.col("InvoiceDate")
        .str.to_datetime("%Y-%m-%d %H:%M:%S")
        .dt.strftime("%-m/%-d/%Y %-H:%M"),
        (pl.col(SOURCE_ID) + ".0"),
    ).write_csv(variant)
    assert "12/1/2010 8:26" in variant.read_text()[:300]
    run_kedro(
        project,
        runtime_params={
            "raw_transactions_path": str(variant),
            "timestamp_format": "%m/%d/%Y %H:%M",
        },
    )
    pd.testing.assert_frame_equal(read_segments(project), read_segments(uci_project))


def test_every_name_holds_its_rules_new_customers_are_new_and_the_model_is_stable(
    uci_project,
):
    profile = newest_release(uci_project).profile
    assert profile.n_customers == 4338
    assert sorted(profile.names) == sorted(SEGMENT_NAMES)
    assert profile.naming.unfilled_segments == []
    assert all(check.holds for check in profile.naming.rules)
    (new,) = [s for s in profile.segments if s.segment_name == "New Customers"]
    assert new.tenure.median < profile.population_tenure_median / 2
    assert profile.stability.seeds_ari >= 0.95  # across 5 seeds
    assert profile.stability.runs == 10


def test_twelve_month_ends_the_last_months_migrations_and_the_sankey(uci_project):
    history = pd.read_parquet(
        uci_project / "data/07_model_output/segment_history.parquet"
    )
    snapshots = sorted(history["snapshot"].unique())
    assert snapshots == [f"2011-{month:02d}-01" for month in range(1, 13)]
    assert history.groupby("snapshot").size().is_monotonic_increasing
    assert history.loc[
        history["snapshot"] == "2011-12-01", "customer_id"
    ].nunique() == (
        4338 - 41  # customers whose first purchase is in December 2011
    )
    migrations = pd.read_csv(uci_project / "data/08_reporting/segment_migrations.csv")
    last = migrations[migrations["to"] == "2011-12-01"]
    assert set(last["from"]) == {"2011-11-01"}
    assert last["customers"].sum() == history["snapshot"].eq("2011-12-01").sum()
    assert (uci_project / "data/08_reporting/migration_sankey.png").stat().st_size > 0
