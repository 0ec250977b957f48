"""The whole project through a real KedroSession and the real catalog."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from kedro.framework.project import configure_project, pipelines

from rfm_segmentation.api.app import create_app
from rfm_segmentation.api.settings import ApiSettings
from rfm_segmentation.segments import (
    RETURNING,
    SEGMENT_NAMES,
    base_segment,
    segment_order,
    segment_slug,
)

from .support import RELEASES, newest_release, read_segments, run_kedro, source_id

SOURCE_ID = source_id()


PIPELINES = [
    "data_processing",
    "feature_engineering",
    "clustering",
    "reporting",
    "segment_history",
    "customer_value",
    "release",
]
# each reads only what earlier runs persisted (the history and the release need the
# model of the same run, from memory)
RERUN_ALONE = ["data_processing", "feature_engineering", "clustering", "reporting"]
FIGURES = [
    "segment_sizes",
    "rfm_distributions",
    "customer_scatter",
    "snake_plot",
    "k_selection_curves",
    "stability",
    "migration_sankey",
    "segment_sizes_over_time",
    "customer_value_calibration",
]


def test_registry_has_the_pipelines_and_default_runs_all():
    configure_project("rfm_segmentation")
    assert set(pipelines) == {*PIPELINES, "__default__"}
    assert set(pipelines["__default__"].nodes) == {
        n for name in PIPELINES for n in pipelines[name].nodes
    }


def test_full_run_segments_each_clean_customer_once_into_four_segments(trained_project):
    segments = read_segments(trained_project)
    report = json.loads(
        (trained_project / "data/08_reporting/cleaning_report.json").read_text()
    )
    assert list(segments.columns) == [
        SOURCE_ID,
        "Country",  # columns.passthrough
        "recency",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "rfm_score",
        "cluster_label",
        "segment_name",
        "name_reason",
        "tenure",
        "as_of",
        "first_purchase",
        "last_purchase",
        "is_outlier",
        "p_alive",
        "expected_purchases",
        "expected_value",
    ]
    assert segments[SOURCE_ID].is_unique
    assert len(segments) == report["customers_out"]
    assert set(SEGMENT_NAMES) <= set(segments["segment_name"])
    assert segments["as_of"].nunique() == 1
    for figure in FIGURES:
        assert (trained_project / f"data/08_reporting/{figure}.json").stat().st_size > 0
        assert (trained_project / f"data/08_reporting/{figure}.png").stat().st_size > 0


def test_a_run_publishes_one_verified_release_with_the_customer_table(trained_project):
    releases = trained_project / RELEASES
    (version,) = [p.name for p in releases.iterdir()]
    assert {p.name for p in (releases / version).iterdir()} == {
        "manifest.json",
        "model.pkl",
        "segmenter.json",
        "profile.json",
        "customers.arrow",
        "migrations.parquet",
        "report.html",
        *(
            f"history_{a}.npy"
            for a in ("codes", "recency", "frequency", "monetary", "tenure")
        ),
    }
    release = newest_release(trained_project)
    assert release.version == version
    report = trained_project / "data" / "08_reporting" / "report.html"
    assert release.report == report.read_bytes()
    assert release.model.named_steps["kmeans"].n_clusters == release.profile.n_clusters
    people = read_segments(trained_project).rename(columns={SOURCE_ID: "customer_id"})
    table = release.customers.to_pandas()
    for column in ("as_of", "first_purchase", "last_purchase", "segment_name"):
        table[column] = table[column].astype(str)
    table["name_reason"] = table["name_reason"].astype(str)
    table["rfm_score"] = table["rfm_score"].astype(str)
    pd.testing.assert_frame_equal(
        table, people.sort_values("customer_id", ignore_index=True), check_dtype=False
    )
    manifest = json.loads((releases / version / "manifest.json").read_text())
    assert manifest["input"]["path"].endswith("data/01_raw/online_retail.csv")
    assert manifest["as_of"] == manifest["snapshots"][-1] == people["as_of"].iloc[0]
    assert manifest["rows"]["customers"] == len(people)


def test_a_run_writes_an_audience_per_segment_and_the_movers_of_each_highlight(
    trained_project,
):
    reporting = trained_project / "data/08_reporting"
    release = newest_release(trained_project)
    people = read_segments(trained_project)
    names = release.profile.segment_names
    assert {p.name for p in (reporting / "audiences").iterdir()} == {
        f"{segment_slug(name)}.csv" for name in names
    }
    for name in names:
        audience = pd.read_csv(
            reporting / "audiences" / f"{segment_slug(name)}.csv",
            dtype={SOURCE_ID: str},
            keep_default_na=False,
        )
        assert list(audience.columns[:3]) == [SOURCE_ID, "Country", "segment"]
        members = people[people["segment_name"] == name]
        assert audience[SOURCE_ID].tolist() == members[SOURCE_ID].tolist()
        assert audience["Country"].tolist() == members["Country"].tolist()
    highlights = pd.read_csv(reporting / "migration_highlights.csv")
    assert len(highlights) and highlights["movers_file"].str.startswith("movers/").all()
    history = release.history
    for flow in highlights.to_dict("records"):
        movers = pd.read_csv(reporting / flow["movers_file"], dtype={SOURCE_ID: str})
        assert len(movers) == flow["customers"]
        countries = people.set_index(SOURCE_ID).loc[movers[SOURCE_ID], "Country"]
        assert movers["Country"].tolist() == countries.tolist()
        start, end = history.snapshot(flow["from"]), history.snapshot(flow["to"])
        for customer_id in movers[SOURCE_ID].head(5):
            position = release.position(customer_id)
            codes = history.codes[[start, end], position]
            assert [
                history.segment_names[c] if c >= 0 else "entered" for c in codes
            ] == [flow["from_segment"], flow["to_segment"]]


@pytest.mark.parametrize("pipeline", RERUN_ALONE)
def test_each_pipeline_reruns_alone_with_identical_segments(trained_project, pipeline):
    before = read_segments(trained_project)
    run_kedro(trained_project, pipeline_names=[pipeline])
    pd.testing.assert_frame_equal(read_segments(trained_project), before)


def test_missing_column_fails_the_run_and_writes_nothing_downstream(
    project_factory, small_transactions
):
    project = project_factory(small_transactions.drop(SOURCE_ID))
    with pytest.raises(
        Exception, match=re.escape(f"'{SOURCE_ID}' (role `customer_id`)")
    ):
        run_kedro(project)
    written = [
        p
        for p in (project / "data").rglob("*")
        if p.is_file() and "01_raw" not in p.parts and p.name != ".kedro-run.lock"
    ]
    assert written == []


def test_pandas_environment_gives_the_same_segments(
    trained_project, project_factory, small_transactions
):
    project = project_factory(small_transactions)
    run_kedro(project, env="pandas")
    pd.testing.assert_frame_equal(
        read_segments(project), read_segments(trained_project)
    )


def test_the_excel_workbook_loads_by_changing_the_catalog_only(
    project_factory, small_transactions
):
    """conf/uci_xlsx reads the UCI .xlsx (timestamps typed, customer ids as float)."""
    project = project_factory(small_transactions)
    workbook = small_transactions.head(4000).to_pandas()
    workbook["InvoiceDate"] = pd.to_datetime(workbook["InvoiceDate"])
    workbook[SOURCE_ID] = workbook[SOURCE_ID].astype(float)
    workbook.to_excel(project / "data/01_raw/online_retail.xlsx", index=False)
    run_kedro(
        project,
        env="uci_xlsx",
        pipeline_names=["data_processing", "feature_engineering"],
    )
    features = pd.read_parquet(project / "data/04_feature/rfm_features.parquet")
    assert not features["customer_id"].str.contains(".", regex=False).any()
    assert features["frequency"].min() >= 1


def test_a_k6_run_draws_every_figure_and_the_api_serves_it(
    project_factory, small_transactions
):
    project = project_factory(small_transactions)
    run_kedro(project, runtime_params={"clustering": {"n_clusters": 6}})
    for figure in FIGURES:
        for suffix in ("json", "png"):
            assert (project / f"data/08_reporting/{figure}.{suffix}").stat().st_size
    summary = pd.read_csv(project / "data/08_reporting/segment_summary.csv")
    profile = json.loads(
        (project / "data/07_model_output/segment_profile.json").read_text()
    )
    names = {c["segment_name"] for c in profile["clusters"]}
    assert len(names) == 6
    assert names <= set(summary["segment_name"])
    assert list(summary["segment_name"]) == segment_order(summary["segment_name"])
    with TestClient(create_app(ApiSettings(project_path=project))) as client:
        segments = client.get("/api/v1/segments").json()["segments"]
        assert names <= {s["segment_name"] for s in segments}
        assert {base_segment(s["segment_name"]).name for s in segments} <= {
            *SEGMENT_NAMES,
            RETURNING.name,
        }
        answer = client.post(
            "/api/v1/segment", json={"recency": 15, "frequency": 2, "monetary": 350}
        )
        assert answer.status_code == 200


def test_a_run_values_every_customer_and_the_api_answers_with_it(trained_project):
    model = json.loads(
        (trained_project / "data/08_reporting/customer_value_model.json").read_text()
    )
    assert set(model) >= {
        "time_unit",
        "horizon",
        "bg_nbd",
        "gamma_gamma",
        "n_customers",
        "n_repeat_buyers",
    }
    assert set(model["bg_nbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(model["gamma_gamma"]) == {"p", "q", "v", "log_likelihood"}
    backtest = json.loads(
        (trained_project / "data/08_reporting/customer_value_backtest.json").read_text()
    )
    assert backtest["total"]["customers"] == sum(
        s["customers"] for s in backtest["segments"]
    )
    people = read_segments(trained_project)
    assert model["n_customers"] == len(people)
    summary = pd.read_csv(trained_project / "data/08_reporting/segment_summary.csv")
    assert summary["expected_value"].sum() == pytest.approx(
        people["expected_value"].sum(), rel=1e-6
    )
    customer = people.iloc[0]
    with TestClient(create_app(ApiSettings(project_path=trained_project))) as client:
        segments = client.get("/api/v1/segments").json()["segments"]
        filled = [s for s in segments if s["customers"]]
        assert all(s["value"]["p_alive_mean"] is not None for s in filled)
        row = client.get(f"/api/v1/customers/{customer[SOURCE_ID]}").json()
        assert row["p_alive"] == customer["p_alive"]
        assert row["expected_value"] == customer["expected_value"]
        features = {
            f: float(customer[f])
            for f in ("recency", "frequency", "monetary", "tenure")
        }
        answer = client.post("/api/v1/segment", json=features).json()
        assert answer["p_alive"] == pytest.approx(customer["p_alive"], abs=1e-4)
        del features["tenure"]
        assert client.post("/api/v1/segment", json=features).json()["p_alive"] is None
