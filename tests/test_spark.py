"""The same narwhals nodes on Spark DataFrames: parity with the default path."""

from __future__ import annotations

import importlib.util
import shutil
import sys

import numpy as np
import pandas as pd
import polars as pl
import pytest

from rfm_segmentation.frames import is_spark
from rfm_segmentation.model import sample_rows
from rfm_segmentation.slices import feature_pipeline, pipeline_of, run_slice
from rfm_segmentation.spark_cluster import (
    connect_server,
    run_on_cluster,
    standalone_cluster,
)

from .support import read_segments, run_kedro

pytestmark = [
    pytest.mark.slow,
    pytest.mark.spark,
    pytest.mark.skipif(
        shutil.which("java") is None, reason="Spark needs Java; no `java` on PATH"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None,
        reason="pyspark is not installed (pip install '.[spark]')",
    ),
]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession  # noqa: PLC0415 - optional dependency

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)  # the workers' interpreter
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()
    monkeypatch.undo()


SNAPSHOTS = pipeline_of("segment_history").only_nodes(
    "choose_snapshot_dates", "aggregate_snapshot_activity"
)


def features_and_report(raw, params):
    outputs = run_slice(
        feature_pipeline() + SNAPSHOTS, {"raw_transactions": raw}, params
    )
    return (
        outputs["rfm_features"],
        outputs["cleaning_report"],
        outputs["snapshot_activity"]
        .astype({"customer_id": str})
        .sort_values(["customer_id", "period"], ignore_index=True),
    )


def test_spark_features_equal_the_default_path(
    spark, small_transactions, params, tmp_path
):
    csv = tmp_path / "raw.csv"
    small_transactions.write_csv(csv)
    spark_raw = spark.read.option("header", True).csv(str(csv))
    polars_raw = pl.scan_csv(csv, infer_schema=False)

    from_spark, spark_report, spark_snapshots = features_and_report(spark_raw, params)
    from_polars, polars_report, polars_snapshots = features_and_report(
        polars_raw, params
    )

    assert spark_report == polars_report
    for spark_table, polars_table, exact in (
        (from_spark, from_polars, ["customer_id", "recency", "frequency", "tenure"]),
        (
            spark_snapshots,
            polars_snapshots,
            ["customer_id", "period", "frequency", "last_purchase_at"],
        ),
    ):
        pd.testing.assert_frame_equal(
            spark_table[exact].astype({"customer_id": str}),
            polars_table[exact].astype({"customer_id": str}),
            check_dtype=False,
        )
        cents = (spark_table["monetary"] * 100).round() - (
            polars_table["monetary"] * 100
        ).round()
        assert (cents == 0).all()
    assert spark_snapshots["period"].nunique() == 11  # before the as-of snapshot


CLUSTERING = pipeline_of("clustering").only_nodes(
    "build_model_input", "train_segmentation_model", "name_segments", "assign_segments"
)


@pytest.fixture(scope="module")
def features(small_transactions, params, tmp_path_factory) -> pd.DataFrame:
    csv = tmp_path_factory.mktemp("raw") / "raw.csv"
    small_transactions.write_csv(csv)
    raw = pl.scan_csv(csv, infer_schema=False)
    return run_slice(feature_pipeline(), {"raw_transactions": raw}, params)[
        "rfm_features"
    ]


def test_customers_are_assigned_on_the_executors_as_on_the_default_path(
    spark, features, params
):
    """The assigned table stays a Spark DataFrame, computed by mapInPandas, and
    names every customer as the default path does."""
    default = run_slice(CLUSTERING, {"rfm_features": features}, params)
    on_spark = run_slice(
        CLUSTERING, {"rfm_features": spark.createDataFrame(features)}, params
    )
    assigned = on_spark["customer_segments"]
    assert is_spark(assigned)
    assert "MapInPandas" in assigned._jdf.queryExecution().toString()
    pd.testing.assert_frame_equal(
        assigned.toPandas().sort_values("customer_id", ignore_index=True),
        default["customer_segments"],
        check_dtype=False,
    )


def test_only_the_default_paths_fit_sample_crosses_to_the_driver(
    spark, features, params
):
    """With more customers than ``fit_sample_size``, the driver gets exactly the
    rows the default path fits on."""
    size = len(features) // 2
    params = {**params, "clustering": {**params["clustering"], "fit_sample_size": size}}
    pipeline = CLUSTERING.only_nodes("build_model_input", "train_segmentation_model")
    default = run_slice(pipeline, {"rfm_features": features}, params)
    on_spark = run_slice(
        pipeline, {"rfm_features": spark.createDataFrame(features)}, params
    )
    rows = sample_rows(len(features), size, params["clustering"]["random_state"])
    pd.testing.assert_frame_equal(
        on_spark["model_input"],
        default["model_input"].iloc[rows].reset_index(drop=True),
        check_dtype=False,
    )
    np.testing.assert_allclose(  # to the last bits: pandas' column-major array sums in another order
        *(
            outputs["segmentation_model"].named_steps["kmeans"].cluster_centers_
            for outputs in (on_spark, default)
        ),
        rtol=1e-12,
    )


def test_kedro_run_env_spark_writes_the_same_segments(
    spark, trained_project, project_factory, small_transactions
):
    project = project_factory(small_transactions)
    run_kedro(project, env="spark")
    pd.testing.assert_frame_equal(
        read_segments(project), read_segments(trained_project)
    )
    for spark_written in (
        "02_intermediate/spark/clean_transactions.parquet",
        "04_feature/spark/rfm_features.parquet",
        "07_model_output/spark/customer_segments.parquet",
    ):
        assert (project / "data" / spark_written).is_dir()


def test_a_standalone_cluster_of_two_workers_gives_the_default_segments(
    trained_project, project_factory, small_transactions
):
    """Moving to a cluster is configuration only: a master and two workers on
    127.0.0.1, `kedro run --env spark --params spark_master=<its URL>`."""
    project = project_factory(small_transactions)
    with standalone_cluster(workers=2) as master:
        assert master.startswith("spark://127.0.0.1:")
        run_on_cluster(project, master)
    pd.testing.assert_frame_equal(
        read_segments(project), read_segments(trained_project)
    )


def test_a_spark_connect_server_gives_the_default_segments(
    trained_project, project_factory, small_transactions
):
    """The same through Spark Connect: `--params spark_remote=sc://...`."""
    project = project_factory(small_transactions)
    with connect_server() as remote:
        assert remote.startswith("sc://127.0.0.1:")
        run_on_cluster(project, remote)
    pd.testing.assert_frame_equal(
        read_segments(project), read_segments(trained_project)
    )
