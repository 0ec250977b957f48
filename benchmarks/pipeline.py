"""The feature step (clean + RFM) on every engine, side by side, and `kedro run`
end to end on the real dataset. Writes docs/benchmarks.md.

    python -m benchmarks.pipeline [--rows 1000000 10000000] [--repeat 3]

Inputs are generated once and cached in .cache/bench/ (Parquet and CSV). Each
measurement runs in its own process: wall time of the step, peak RSS (the process's
own, plus Spark's JVM), rows per second; medians over --repeat runs.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from benchmarks.customer_scale import REPORT as CUSTOMER_SCALE_REPORT
from benchmarks.machine import describe
from rfm_segmentation.synthetic_data import generate_transactions
from tests.support import REAL_DATA, base_parameters, make_project

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"
REPORT = ROOT / "docs" / "benchmarks.md"
ENGINES = {
    "polars": "project default (narwhals on Polars, lazy)",
    "pandas": "project on pandas (narwhals, `--env pandas`)",
    "spark": "project on Spark local[*] (narwhals, `--env spark`)",
    "seed_baseline": "seed-style baseline (pandas `groupby.agg` with a lambda)",
    "duckdb_reference": "DuckDB reference (the same rules and aggregates in SQL)",
}
GOAL_SPEEDUP, GOAL_RSS_GIB, GOAL_DUCKDB_RATIO = 5.0, 1.5, 1.25
GOAL_LARGE_RSS_GIB = {30_000_000: 4.0}  # larger sizes only have to complete
GOAL_SNAPSHOT_RATIO = 2.0
START, END = "2010-12-01", "2011-12-09"
SHARD_ROWS = 10_000_000
SHARD_ID_SPAN = 10_000_000  # above any generated customer id of one shard


@dataclass
class Measurement:
    engine: str
    rows: int
    file_format: str
    seconds: float
    peak_rss_gib: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def input_file(rows: int, file_format: str) -> Path:
    """Generated transactions (the same for a given size), cached per format. Sizes
    above ``SHARD_ROWS`` are shards of that size (seeds 1, 2, ...) with disjoint
    customers and invoices: one shop with that many times the customers, generated
    without holding it all in memory."""
    path = CACHE / f"transactions_{rows}.{file_format}"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    if rows <= SHARD_ROWS:
        data = generate_transactions(rows, seed=1, start=START, end=END)
        getattr(data, f"write_{file_format}")(path)
        return path
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        shards = []
        for shard in range(-(-rows // SHARD_ROWS)):
            shards.append(Path(tmp) / f"{shard}.parquet")
            size = min(SHARD_ROWS, rows - shard * SHARD_ROWS)
            _shard(
                generate_transactions(size, seed=1 + shard, start=START, end=END), shard
            ).write_parquet(shards[-1])
        frame = pl.scan_parquet(shards)
        getattr(frame, f"sink_{file_format}")(path)
    return path


def _shard(data: pl.DataFrame, shard: int) -> pl.DataFrame:
    """Customer ids and invoice numbers of shard ``shard`` made its own: ids moved
    past every other shard's (``SHARD_ID_SPAN``), invoices prefixed ``<shard>-``
    after any cancellation prefix."""
    params = base_parameters()
    customer, invoice = (
        params["columns"]["customer_id"],
        params["columns"]["invoice_id"],
    )
    prefix = params["cleaning"]["cancellation_prefix"]
    return data.with_columns(
        pl.col(customer) + shard * SHARD_ID_SPAN,
        pl.col(invoice).str.replace(f"^({prefix}?)", f"${{1}}{shard}-"),
    )


def measure_once(engine: str, path: Path) -> tuple[float, float]:
    """(seconds, peak RSS in GiB) of one run in a fresh process."""
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.feature_step", engine, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    output, _ = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(
            f"{engine} on {path.name} failed (status {child.returncode})"
        )
    result = json.loads(output.strip().splitlines()[-1])
    return result["seconds"], result["peak_rss_kb"] / 1024**2


def measure(
    engines: list[str], rows: int, file_format: str, repeat: int
) -> list[Measurement]:
    """Each engine ``repeat`` times, in rounds (every engine once per round), so that
    the machine's drift over minutes falls on all of them alike."""
    path = input_file(rows, file_format)
    runs: dict[str, list[tuple[float, float]]] = {engine: [] for engine in engines}
    for _ in range(repeat):
        for engine in engines:
            runs[engine].append(measure_once(engine, path))
    return [
        Measurement(
            engine,
            rows,
            file_format,
            statistics.median(s for s, _ in runs[engine]),
            statistics.median(r for _, r in runs[engine]),
        )
        for engine in engines
    ]


def snapshot_cost(rows: int, repeat: int) -> dict[str, float]:
    """The 12-snapshot step against the single-snapshot feature step, in a fresh
    process (benchmarks/snapshot_step.py)."""
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.snapshot_step",
            str(input_file(rows, "parquet")),
            "--repeat",
            str(repeat),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return {"rows": rows, **json.loads(child.stdout.strip().splitlines()[-1])}


def kedro_run_on_real_data() -> float | None:
    """Seconds for `kedro run` (every pipeline) on the UCI file, in a project copy."""
    if not REAL_DATA.exists():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "project")
        shutil.rmtree(project / "src")
        (project / "src").mkdir()
        started = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).parent / "kedro"),
                "run",
                "--params",
                f"raw_transactions_path={REAL_DATA}",
            ],
            cwd=project,
            check=True,
            capture_output=True,
            env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
        )
        return time.perf_counter() - started


def report(
    measurements: list[Measurement],
    large: list[Measurement],
    real_run: float | None,
    repeat: int,
    snapshots: dict[str, float],
) -> str:
    baseline = {
        (m.rows, m.file_format): m for m in measurements if m.engine == "seed_baseline"
    }
    rows = [
        "| rows | input | engine | median s | peak RSS GiB | rows/s | speed-up vs baseline |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in measurements:
        speedup = baseline[(m.rows, m.file_format)].seconds / m.seconds
        rows.append(
            f"| {m.rows:,} | {m.file_format} | {ENGINES[m.engine]} | {m.seconds:.2f} | "
            f"{m.peak_rss_gib:.2f} | {m.rows_per_second:,.0f} | {speedup:.1f}x |"
        )
    largest = max(m.rows for m in measurements)
    ours = next(
        m
        for m in measurements
        if (m.engine, m.rows, m.file_format) == ("polars", largest, "parquet")
    )
    speedup = baseline[(largest, "parquet")].seconds / ours.seconds
    verdict = (
        f"Goals at {largest:,} Parquet rows: default path >= {GOAL_SPEEDUP:.0f}x the baseline "
        f"(measured {speedup:.1f}x: {'met' if speedup >= GOAL_SPEEDUP else 'not met'}) and <= "
        f"{GOAL_RSS_GIB} GiB peak RSS (measured {ours.peak_rss_gib:.2f} GiB: "
        f"{'met' if ours.peak_rss_gib <= GOAL_RSS_GIB else 'not met'})."
    )
    reference = next(
        (
            m
            for m in measurements
            if (m.engine, m.rows, m.file_format)
            == ("duckdb_reference", largest, "parquet")
        ),
        None,
    )
    if reference:
        ratio = ours.seconds / reference.seconds
        verdict += (
            f" Against the DuckDB reference (the same cleaning rules, duplicates "
            f"included, and the same aggregates): {ratio:.2f}x its time (goal <= "
            f"{GOAL_DUCKDB_RATIO}x: {'met' if ratio <= GOAL_DUCKDB_RATIO else 'not met'}); "
            f"peak RSS {ours.peak_rss_gib:.2f} GiB against its {reference.peak_rss_gib:.2f} GiB."
        )
    completes = [_completes(m) for m in large]
    ratio = snapshots["ratio"]
    snapshot_text = (
        f"At {snapshots['rows']:,} Parquet rows, {snapshots['snapshots']} snapshots "
        f"(aggregation in one pass, then accumulated per customer) take "
        f"{snapshots['snapshots_seconds']:.2f} s against {snapshots['single_seconds']:.2f} s "
        f"for the single-snapshot feature step on the same clean transactions: "
        f"**{ratio:.2f}x** (goal <= {GOAL_SNAPSHOT_RATIO:.0f}x: "
        f"{'met' if ratio <= GOAL_SNAPSHOT_RATIO else 'not met'}; medians of {repeat} "
        "runs, alternating, in one process)."
    )
    real = (
        f"`kedro run` (all five pipelines, k selection included) on the real UCI file "
        f"(541,909 rows): {real_run:.1f} s."
        if real_run
        else "The real UCI file was not on this machine: no end-to-end run on it."
    )
    return "\n".join(
        [
            "# Benchmarks",
            "",
            "Written by `make bench` (`python -m benchmarks.pipeline`); do not edit by hand.",
            "",
            f"Machine: {describe(['polars', 'pandas', 'pyspark', 'narwhals', 'kedro'])}.",
            "",
            "The feature step is validate -> clean (with the cleaning report) -> save and",
            "re-read the clean transactions -> customer aggregation -> RFM features and",
            "scores, exactly as the pipelines chain it; the baseline does less (no",
            "validation, no duplicate or non-product rules, no report, no scores). Each",
            f"cell is the median of {repeat} runs, each in its own process, the engines",
            "taking turns; peak RSS is the process's own plus, for Spark, its JVM's.",
            "Spark's session start is not timed.",
            "",
            *rows,
            "",
            verdict,
            "",
            *completes,
            "",
            "## Segments over time",
            "",
            snapshot_text,
            "",
            real,
            "",
            "## Where the time goes",
            "",
            "Stage by stage on the default path at 10M Parquet rows (the nodes timed one",
            "by one, in one process): one pass over the raw data counts the cleaning",
            "rules and hashes every kept row to 64 bits, and sorting the 7.3M hashes",
            "finds the ~130,000 that more than one row shares (~0.9-1.2 s); a second",
            "pass streams the clean rows into Parquet (~1.8 s): reading and parsing",
            "again, and a second read of the raw rows for the few with a shared hash,",
            "which meet an exact `unique()` (~0.4 s of the 1.8; writing the kept rows",
            "alone takes 1.2 s). Reading the report's totals, aggregating customers and",
            "scoring from the saved Parquet take ~0.5 s. DuckDB parses once and holds",
            "its distinct rows; the design here reads twice to hold 8 bytes a row.",
            "",
            "Memory: a plain `unique()` keeps every distinct row in its hash table, and",
            "the clean table was collected before it was written: 2.1 GiB peak at 10M",
            "rows and 11.4 GiB at 30M before this design (counts 0.75 s, save 2.46 s",
            "stage by stage). The rules' pass now holds 8-byte hashes instead of rows,",
            "and the streaming sink (`StreamingParquetDataset`) never holds the clean",
            "table, so the peak grows with the number of distinct clean rows at a few",
            "dozen bytes each. The output is the same rows `unique()` gives",
            "(`tests/pipelines/data_processing/test_distinct_rows.py`, colliding hashes",
            "included). Pandas and Spark keep their own distinct.",
            "",
            # the whole run by customers: make bench-customers writes it
            f'--8<-- "{CUSTOMER_SCALE_REPORT.relative_to(ROOT)}"',
            "",
        ]
    )


def _completes(m: Measurement) -> str:
    """One sentence: a large size on the default path, against its goal if it has one."""
    text = (
        f"- {m.rows:,} Parquet rows on the default path complete in {m.seconds:.1f} s "
        f"with {m.peak_rss_gib:.2f} GiB peak RSS (one run"
    )
    goal = GOAL_LARGE_RSS_GIB.get(m.rows)
    if goal is None:
        return text + ")."
    met = "met" if m.peak_rss_gib <= goal else "not met"
    return text + f"; goal <= {goal:.0f} GiB: {met})."


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES)
    )
    parser.add_argument(
        "--completes",
        type=int,
        nargs="*",
        default=[30_000_000, 100_000_000],
        help="sizes the default path must get through once (none: skip)",
    )
    parser.add_argument(
        "--snapshot-rows",
        type=int,
        default=None,
        help="rows for the snapshot cost (default: the largest of --rows)",
    )
    parser.add_argument("--output", type=Path, default=REPORT)
    parser.add_argument(
        "--real-data",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time `kedro run` on ../shared/data/online_retail.csv.gz if present",
    )
    args = parser.parse_args(argv)

    measurements = []
    for rows in args.rows:
        for file_format in ("parquet", "csv"):
            for m in measure(args.engines, rows, file_format, args.repeat):
                print(
                    f"{rows:>11,} {file_format:8} {m.engine:14} {m.seconds:7.2f} s {m.peak_rss_gib:5.2f} GiB",
                    flush=True,
                )
                measurements.append(m)
    large = [measure(["polars"], rows, "parquet", 1)[0] for rows in args.completes]
    for m in large:
        print(_completes(m), flush=True)
    snapshots = snapshot_cost(args.snapshot_rows or max(args.rows), args.repeat)
    print(f"snapshots: {snapshots}", flush=True)
    real_run = kedro_run_on_real_data() if args.real_data else None
    text = report(measurements, large, real_run, args.repeat, snapshots)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
