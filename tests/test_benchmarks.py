"""The benchmark scripts run end to end (on tiny inputs; timings are not checked)."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pandas as pd
import polars as pl
import pytest
from kedro.pipeline import node

from benchmarks import api_load, customer_run, customer_scale, pipeline
from benchmarks.pipeline import main

from .support import base_parameters

pytestmark = pytest.mark.slow


def test_pipeline_benchmark_measures_engines_side_by_side_and_reports(tmp_path):
    output = tmp_path / "benchmarks.md"
    main(
        [
            "--rows",
            "3000",
            "--repeat",
            "1",
            "--engines",
            "polars",
            "seed_baseline",
            "duckdb_reference",
            "--completes",
            "--no-real-data",
            "--output",
            str(output),
        ]
    )
    report = output.read_text()
    for row in (
        "| 3,000 | parquet | project default",
        "| 3,000 | csv | seed-style baseline",
        "| 3,000 | parquet | DuckDB reference",
    ):
        assert row in report
    assert "Goals at 3,000 Parquet rows" in report
    assert "Against the DuckDB reference" in report
    assert "At 3,000 Parquet rows, 12 snapshots" in report
    assert "Machine:" in report


def test_large_inputs_are_shards_with_their_own_customers_and_invoices(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(pipeline, "CACHE", tmp_path)
    monkeypatch.setattr(pipeline, "SHARD_ROWS", 1_000)
    columns = base_parameters()["columns"]
    customer, invoice = columns["customer_id"], columns["invoice_id"]
    data = pl.read_parquet(pipeline.input_file(2_500, "parquet"))
    shard = data[invoice].str.extract(r"^C?(\d+)-").cast(pl.Int64)
    assert shard.null_count() == 0  # cancellations keep their prefix first
    assert shard.value_counts(sort=True)["count"].to_list() == [1_000, 1_000, 500]
    shards_per_customer = (
        data.with_columns(shard=shard)
        .drop_nulls(customer)
        .group_by(customer)
        .agg(pl.col("shard").n_unique())
    )
    assert shards_per_customer["shard"].max() == 1


def test_customer_scale_benchmark_runs_kedro_beside_the_reference_and_reports(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(customer_scale, "CACHE", tmp_path / "cache")
    output = tmp_path / "benchmarks-customers.md"
    customer_scale.main(
        ["--customers", "2000", "--api-seconds", "1", "--output", str(output)]
    )
    report = output.read_text()
    row, api_row = (
        line for line in report.splitlines() if line.startswith("| 2,000 |")
    )
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert float(cells[2]) > 0  # the run completed: a time, not a failure
    assert cells[6].endswith("x")  # run / reference
    assert cells[7] == "-"  # below the fit sample bound: no sampled fit to compare
    assert all(float(cores) >= 0 for cores in cells[8].split(";"))  # other work
    api = [cell.strip() for cell in api_row.strip("|").split("|")]
    ready, lookups, migrations = float(api[1]), api[3:9] + api[10:12], float(api[9])
    assert ready > 0 and migrations > 0  # the API served the run's release
    assert all(float(figure.replace(",", "")) > 0 for figure in lookups)  # and /health
    assert "the API on 10,000,000 customers: not measured in this run" in report
    generator = "`wrk`" if shutil.which("wrk") else "the asyncio client"
    assert f"then, with\n{generator}" in report  # says what made the load
    assert "2,000 customers (" in report  # its slowest nodes
    assert "| outside the nodes (session, catalog, hooks) |" in report
    assert "Machine:" in report


def test_the_sampled_fits_agreement_is_measured_above_the_bound(tmp_path, params):
    rng = np.random.default_rng(2)
    model_input = tmp_path / "model_input.parquet"
    pd.DataFrame(
        {
            "recency": rng.integers(1, 365, 6000),
            "frequency": rng.geometric(0.4, 6000),
            "monetary": rng.lognormal(5, 1, 6000),
        }
    ).to_parquet(model_input)
    clustering = params["clustering"]
    agreement = customer_run.sampled_fit_agreement(
        model_input, {**clustering, "fit_sample_size": 1500}
    )
    assert 0.8 < agreement < 1  # a sample, so not identical, yet close
    assert customer_run.sampled_fit_agreement(model_input, clustering) is None


def test_a_measurement_over_the_memory_limit_is_stopped_and_reported(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(customer_scale, "CACHE", tmp_path)
    path = customer_scale.input_file(500)
    measurement = customer_scale.measure("reference", path, memory_limit_gib=0.02)
    assert measurement.seconds is None
    assert measurement.failure.startswith("stopped above 0.02 GiB RSS after ")


def test_a_stopped_run_still_tells_which_nodes_it_finished_and_where_it_was(
    tmp_path,
):
    log = tmp_path / customer_run.NODE_LOG
    profile = customer_run.NodeProfile(log)
    first, second = (node(lambda: 1, None, name, name=name) for name in ("a", "b"))
    profile.before_node_run(first)
    profile.before_dataset_loaded("a", second)  # b starts loading: a has ended
    finished, running = customer_run.read_node_log(log)
    assert [n["node"] for n in finished] == ["a"]
    assert finished[0]["seconds"] >= 0 and finished[0]["peak_rss_kb"] > 0
    assert running == "b"
    profile.close()
    assert customer_run.read_node_log(log)[1] is None


def test_api_benchmark_loads_the_api_and_the_baseline_and_reports(
    trained_project, tmp_path, monkeypatch
):
    monkeypatch.setenv("RFM_PROJECT_PATH", str(trained_project))
    output = tmp_path / "api-benchmark.md"
    api_load.main(
        [
            *("--seconds", "0.3", "--connections", "2", "--generator", "python"),
            *("--output", str(output)),
        ]
    )
    report = output.read_text()
    for row in (
        "| single: /api/v1/segment | 2 |",
        "| single: seed-style service | 2 |",
        "| batch of 10,000: /api/v1/segment/batch | 2 |",
        "| batch of 10,000: seed-style service | 2 |",
        "| single requests, x seed-style |",
    ):
        assert row in report
    assert "asyncio client" in report
    # where a goal is missed, and only then, the report says where the time goes
    assert ("## Where the time goes" in report) == ("| no |" in report)


def test_the_profile_shares_the_request_path_among_layers(trained_project, monkeypatch):
    monkeypatch.setenv("RFM_PROJECT_PATH", str(trained_project))
    profile = api_load.request_path_profile(requests=300)
    shares = [
        int(line.rsplit("|", 2)[1].strip().rstrip("%"))
        for line in profile.splitlines()
        if line.startswith("| ") and line.endswith("% |") and "`" not in line
    ]
    assert "| this project |" in profile
    assert 95 <= sum(shares) <= 105  # every layer, rounded


class _CountingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the API serves
    peers: ClassVar[set[int]] = set()

    def do_GET(self) -> None:
        self.peers.add(self.client_address[1])
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


def test_the_asyncio_client_holds_every_connection_even_for_one_path():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = api_load.python_get("health", url, ["/"], connections=8, seconds=0.3)
    finally:
        server.shutdown()
    assert result.requests > 8
    assert len(_CountingHandler.peers) >= 8  # the warm-up's and one per connection


WRK_REPORT = """Running 10s test @ http://127.0.0.1:59463/segment
  1 threads and 32 connections
  Latency Distribution
     50%   70.56ms
     75%   87.33ms
     99%    1.35s \n  3972 requests in 10.01s, 752.51KB read
Requests/sec:    396.73
"""


def test_a_wrk_report_is_read_whatever_its_units_and_padding():
    result = api_load.wrk_result("single", 32, WRK_REPORT)
    assert (result.requests, result.rps) == (3972, 396.73)
    assert (result.p50_ms, result.p99_ms) == (70.56, 1350.0)
    with pytest.raises(RuntimeError, match="no p50/p99"):
        api_load.wrk_result("single", 32, WRK_REPORT.replace("99%", "98%"))


@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
)
def test_wrk_figures_are_read_from_its_report(trained_project, monkeypatch):
    monkeypatch.setenv("RFM_PROJECT_PATH", str(trained_project))
    server, url = api_load.start_server(api_load.API[0], api_load.API[2])
    try:
        result = api_load.wrk_load(
            "single",
            url + api_load.API[1],
            json.dumps(api_load.REFERENCE).encode(),
            connections=4,
            seconds=1,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.requests > 100
    assert result.rps > 100
    assert 0 < result.p50_ms <= result.p99_ms
