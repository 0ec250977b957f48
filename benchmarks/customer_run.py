"""One measurement of ``benchmarks.customer_scale``, in this process.

    python -m benchmarks.customer_run kedro CSV WORKDIR RESULT_JSON
    python -m benchmarks.customer_run reference CSV WORKDIR RESULT_JSON

``kedro``: `kedro run` (every pipeline, the project's own settings and hooks) in a
throwaway project copy under WORKDIR reading CSV, with ``NodeProfile`` recording the
wall time and peak RSS of every node, and afterwards (not timed) the agreement of
its model, fitted on a sample above ``clustering.fit_sample_size`` customers, with
a fit on every customer (adjusted Rand index of their labels). ``reference``: the
essential work done straight (read, aggregate, one K-Means fit, predict, write). Writes seconds (after
imports) and peak RSS (VmHWM, read from /proc) to RESULT_JSON; the run's nodes to
WORKDIR/nodes.jsonl as they go.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from kedro.framework.hooks import hook_impl
from kedro.framework.project import settings
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.pipeline import Node
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from rfm_segmentation.model import FEATURES, fit_segmentation_model
from tests.support import base_parameters, make_project

N_CLUSTERS = 4
NODE_LOG = "nodes.jsonl"  # in WORKDIR: the nodes of the run, as they end


def peak_rss_kb() -> int:
    """This process's peak resident memory since it started or was last reset."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


def reset_peak_rss() -> None:
    """Start the peak (VmHWM) again from the current RSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


class NodeProfile:
    """Wall time and peak RSS of each node, from the load of its first input to the
    start of the next node (its outputs saved), the peak reset at every start.
    Appended to ``log`` as JSON lines as the run goes: a line when a node starts,
    one with its figures when it ends, so that a run stopped midway still tells
    where it was."""

    def __init__(self, log: Path) -> None:
        self.peak_kb = 0  # the whole run's, across the resets
        self._log = log
        self._current: str | None = None
        self._started = 0.0

    def _enter(self, node: Node) -> None:
        if node.name != self._current:
            self.close()
            self._current, self._started = node.name, time.perf_counter()
            self._write({"node": node.name})
            reset_peak_rss()

    def close(self) -> None:
        """End the node running now, if any."""
        peak = peak_rss_kb()
        self.peak_kb = max(self.peak_kb, peak)
        if self._current is not None:
            seconds = time.perf_counter() - self._started
            self._write(
                {"node": self._current, "seconds": seconds, "peak_rss_kb": peak}
            )
            self._current = None

    def _write(self, record: dict[str, Any]) -> None:
        with self._log.open("a") as log:
            log.write(json.dumps(record) + "\n")

    @hook_impl
    def before_dataset_loaded(self, dataset_name: str, node: Node) -> None:
        self._enter(node)

    @hook_impl
    def before_node_run(self, node: Node) -> None:
        self._enter(node)  # nodes without inputs


def kedro_run(path: Path, workdir: Path) -> dict[str, Any]:
    project = make_project(workdir / "project")
    bootstrap_project(project)
    profile = NodeProfile(workdir / NODE_LOG)
    settings.set("HOOKS", (*settings.HOOKS, profile))
    started = time.perf_counter()
    with KedroSession.create(
        project_path=project, runtime_params={"raw_transactions_path": str(path)}
    ) as session:
        session.run()
    seconds = time.perf_counter() - started
    profile.close()
    return {
        "seconds": seconds,
        "peak_rss_kb": profile.peak_kb,
        "sampled_fit_ari": sampled_fit_agreement(
            project / "data/05_model_input/model_input.parquet",
            base_parameters()["clustering"],
        ),
    }


def sampled_fit_agreement(
    model_input: Path, clustering: dict[str, Any]
) -> float | None:
    """The adjusted Rand index of the run's model (refitted: the same seeded sample
    and ``clustering`` parameters) against a fit on every customer of its
    ``model_input``, over every customer; None where the run fitted on all."""
    values = pd.read_parquet(model_input, columns=FEATURES).to_numpy(dtype=float)
    if len(values) <= clustering["fit_sample_size"]:
        return None
    sampled = fit_segmentation_model(values, clustering)
    full = fit_segmentation_model(values, clustering, fit_sample_size=len(values))
    return float(adjusted_rand_score(full.predict(values), sampled.predict(values)))


def read_node_log(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """The nodes a run has finished, and the one it was in, if any."""
    if not path.exists():
        return [], None
    records = [json.loads(line) for line in path.read_text().splitlines()]
    finished = [r for r in records if "seconds" in r]
    running = records[-1]["node"] if records and "seconds" not in records[-1] else None
    return finished, running


def reference(path: Path, workdir: Path) -> dict[str, Any]:
    """Polars read and aggregate (recency, distinct invoices, spend, after the
    missing ids, cancellations and non-positive quantities and prices), one K-Means
    fit (``n_init=1``) on the log1p-standardised RFM of every customer, predict,
    and a CSV of customer -> label."""
    params = base_parameters()
    column, prefix = params["columns"], params["cleaning"]["cancellation_prefix"]
    started = time.perf_counter()
    lines = (
        pl.scan_csv(path, infer_schema=False)
        .select(
            customer=pl.col(column["customer_id"]),
            invoice=pl.col(column["invoice_id"]),
            at=pl.col(column["invoiced_at"]).str.to_datetime(
                params["timestamp_format"]
            ),
            quantity=pl.col(column["quantity"]).cast(pl.Float64),
            price=pl.col(column["unit_price"]).cast(pl.Float64),
        )
        .filter(
            pl.col("customer").is_not_null()
            & ~pl.col("invoice").str.starts_with(prefix)
            & (pl.col("quantity") > 0)
            & (pl.col("price") > 0)
        )
    )
    customers = (
        lines.group_by("customer")
        .agg(
            last=pl.col("at").max().dt.date(),
            frequency=pl.col("invoice").n_unique(),
            monetary=(pl.col("quantity") * pl.col("price")).sum(),
        )
        .with_columns(
            recency=(
                pl.col("last").max() + pl.duration(days=1) - pl.col("last")
            ).dt.total_days()
        )
        .collect()
    )
    rfm = customers.select("recency", "frequency", "monetary").to_numpy()
    features = StandardScaler().fit_transform(np.log1p(rfm))
    model = KMeans(n_clusters=N_CLUSTERS, n_init=1, random_state=0).fit(features)
    customers.select("customer", label=pl.Series(model.predict(features))).write_csv(
        workdir / "customer_labels.csv"
    )
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_kb": peak_rss_kb(),
        "customers": customers.height,
    }


if __name__ == "__main__":
    kind, csv, workdir, result = sys.argv[1:5]
    measure = {"kedro": kedro_run, "reference": reference}[kind]
    Path(result).write_text(json.dumps(measure(Path(csv), Path(workdir))))
