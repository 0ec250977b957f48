"""The benchmark scripts run end to end (on tiny inputs; timings are not checked)."""

from __future__ import annotations

import pytest

from benchmarks import api_load
from benchmarks.pipeline import main

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
            "--completes",
            "0",
            "--no-real-data",
            "--output",
            str(output),
        ]
    )
    report = output.read_text()
    for row in (
        "| 3,000 | parquet | project default",
        "| 3,000 | csv | seed-style baseline",
    ):
        assert row in report
    assert "Goals at 3,000 Parquet rows" in report
    assert "At 3,000 Parquet rows, 12 snapshots" in report
    assert "Machine:" in report


def test_api_benchmark_loads_the_api_and_the_baseline_and_reports(
    trained_project, tmp_path, monkeypatch
):
    monkeypatch.setenv("RFM_PROJECT_PATH", str(trained_project))
    output = tmp_path / "api-benchmark.md"
    api_load.main(["--seconds", "0.3", "--connections", "2", "--output", str(output)])
    report = output.read_text()
    for row in ("| single: /api/v1/segment |", "| batch of 10,000: baseline"):
        assert row in report
    assert "the baseline's req/s" in report
