"""The benchmark scripts run end to end (on tiny inputs; timings are not checked)."""

from __future__ import annotations

import pytest

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
    assert "Machine:" in report
