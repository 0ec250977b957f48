"""One engine's feature step (clean + RFM) on one input file, in this process.

Run by ``benchmarks.pipeline`` as ``python -m benchmarks.feature_step ENGINE PATH``;
prints one JSON line: seconds for the step (after imports and, for Spark, session
start), customers found, and the peak RSS of this process plus, for Spark, its JVM.
(Read from /proc rather than the parent's ``wait4``: Linux carries a parent's
resident memory at fork into the child's ``ru_maxrss`` across exec.)

The project's engines run the nodes as the pipelines do, including saving the clean
transactions and reading them back through the dataset their catalog names.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
from kedro.config import OmegaConfigLoader
from kedro.io import AbstractDataset

from rfm_segmentation.pipelines.feature_engineering.nodes import compute_rfm_features
from rfm_segmentation.slices import feature_pipeline, run_slice

CONF = Path(__file__).resolve().parents[1] / "conf"


def clean_dataset(env: str, filepath: Path) -> AbstractDataset:
    """The ``clean_transactions`` entry of the catalog of ``env``, at ``filepath``."""
    entry = OmegaConfigLoader(str(CONF), base_env="base", default_run_env=env)[
        "catalog"
    ]["clean_transactions"]
    return AbstractDataset.from_config(
        "clean_transactions", {**entry, "filepath": str(filepath)}
    )


def _parameters() -> dict[str, Any]:
    return OmegaConfigLoader(str(CONF), base_env="base", default_run_env="base")[
        "parameters"
    ]


def project_feature_step(raw: Any, clean_dataset: AbstractDataset) -> pd.DataFrame:
    """The project's data_processing and feature_engineering pipelines, base
    parameters, the clean transactions written to ``clean_dataset``."""
    params = _parameters()
    outputs = run_slice(
        feature_pipeline(),
        {"raw_transactions": raw},
        params,
        datasets={"clean_transactions": clean_dataset},
    )
    return outputs["rfm_features"]


def seed_style_baseline(path: Path) -> pd.DataFrame:
    """RFM the way the original scripts did it: pandas with a lambda per group."""
    df = read_pandas(path)
    df = df.dropna(subset=["CustomerID"])
    df = df[~df["InvoiceNo"].astype(str).str.startswith("C")]
    df = df[(df["Quantity"].astype(float) > 0) & (df["UnitPrice"].astype(float) > 0)]
    df["TotalPrice"] = df["Quantity"].astype(float) * df["UnitPrice"].astype(float)
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    snapshot = df["InvoiceDate"].max() + timedelta(days=1)
    return df.groupby("CustomerID").agg(
        recency=("InvoiceDate", lambda x: (snapshot - x.max()).days),
        frequency=("InvoiceNo", "nunique"),
        monetary=("TotalPrice", "sum"),
    )


def duckdb_reference(path: Path, clean_path: Path) -> pd.DataFrame:
    """The project's cleaning rules (exact duplicates included) and customer
    aggregates as DuckDB SQL, the clean transactions written to Parquet and read
    back as the pipelines do; scores by the project's own node. The reference the
    default path is measured against."""
    import duckdb  # noqa: PLC0415 - a benchmark-only dependency

    params = _parameters()
    column, cleaning = params["columns"], params["cleaning"]
    codes = ", ".join(f"'{c.upper()}'" for c in cleaning["non_product_stock_codes"])
    if path.suffix == ".parquet":
        source, customer = f"read_parquet('{path}')", f'"{column["customer_id"]}"'
    else:
        source = f"read_csv('{path}', all_varchar = true)"
        customer = f"""nullif(regexp_replace(trim("{column["customer_id"]}"), '\\.0+$', ''), '')"""
    connection = duckdb.connect()
    connection.execute(
        f"""COPY (
            SELECT DISTINCT * FROM (
                SELECT
                    {customer} AS customer_id,
                    CAST("{column["invoice_id"]}" AS VARCHAR) AS invoice_id,
                    strptime(trim("{column["invoiced_at"]}"),
                             '{params["timestamp_format"]}') AS invoiced_at,
                    CAST("{column["quantity"]}" AS DOUBLE) AS quantity,
                    CAST("{column["unit_price"]}" AS DOUBLE) AS unit_price,
                    CAST("{column["stock_code"]}" AS VARCHAR) AS stock_code,
                    CAST("{column["quantity"]}" AS DOUBLE)
                        * CAST("{column["unit_price"]}" AS DOUBLE) AS line_amount
                FROM {source}
            )
            WHERE customer_id IS NOT NULL
              AND invoiced_at IS NOT NULL
              AND NOT starts_with(invoice_id, '{cleaning["cancellation_prefix"]}')
              AND quantity > 0
              AND unit_price > 0
              AND upper(stock_code) NOT IN ({codes})
        ) TO '{clean_path}' (FORMAT parquet)"""
    )
    activity = connection.sql(
        f"""SELECT customer_id,
                   min(invoiced_at) AS first_purchase_at,
                   max(invoiced_at) AS last_purchase_at,
                   count(DISTINCT invoice_id) AS frequency,
                   sum(line_amount) AS monetary
            FROM read_parquet('{clean_path}')
            GROUP BY customer_id
            ORDER BY customer_id"""
    ).df()
    return compute_rfm_features(activity, None)  # the default: no snapshot date


def read_pandas(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def run(engine: str, path: Path, workdir: Path) -> tuple[float, int, int]:
    """Seconds, customers, and the peak RSS of Spark's JVM in KiB (0 without)."""
    clean_path = workdir / "clean_transactions.parquet"
    if engine == "spark":
        from pyspark.sql import SparkSession  # noqa: PLC0415 - optional dependency

        spark = (
            SparkSession.builder.master("local[*]")
            .config("spark.driver.memory", "8g")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
    started = time.perf_counter()
    parquet = path.suffix == ".parquet"
    if engine == "seed_baseline":
        result = seed_style_baseline(path)
    elif engine == "duckdb_reference":
        result = duckdb_reference(path, clean_path)
    elif engine == "polars":
        raw = (
            pl.scan_parquet(path) if parquet else pl.scan_csv(path, infer_schema=False)
        )
        result = project_feature_step(raw, clean_dataset("base", clean_path))
    elif engine == "pandas":
        result = project_feature_step(
            read_pandas(path), clean_dataset("pandas", clean_path)
        )
    elif engine == "spark":
        reader = spark.read if parquet else spark.read.option("header", True)
        raw = reader.parquet(str(path)) if parquet else reader.csv(str(path))
        result = project_feature_step(raw, clean_dataset("spark", clean_path))
    else:
        raise ValueError(f"unknown engine {engine!r}")
    seconds = time.perf_counter() - started
    jvm_peak_kb = 0
    if engine == "spark":
        jvm_peak_kb = _peak_rss_kb(spark.sparkContext._gateway.proc.pid)
        spark.stop()
    return seconds, len(result), jvm_peak_kb


def _peak_rss_kb(pid: int) -> int:
    """A process's peak resident memory (VmHWM), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        seconds, customers, jvm_peak_kb = run(sys.argv[1], Path(sys.argv[2]), Path(tmp))
    peak_kb = _peak_rss_kb(os.getpid()) + jvm_peak_kb
    print(
        json.dumps({"seconds": seconds, "customers": customers, "peak_rss_kb": peak_kb})
    )
