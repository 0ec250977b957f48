"""The cost of segments over time: aggregating the transactions at every snapshot
against the single-snapshot feature step, on the same clean transactions, side by
side in one process.

    python -m benchmarks.snapshot_step PARQUET [--repeat 3]

prints one JSON line: median seconds of each and their ratio. Cleaning is done once
beforehand and not timed; both steps read the same clean Parquet lazily.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl
from kedro.config import OmegaConfigLoader

from benchmarks.feature_step import clean_dataset
from rfm_segmentation.slices import pipeline_of, run_slice

CONF = Path(__file__).resolve().parents[1] / "conf"
SNAPSHOT_NODES = ("choose_snapshot_dates", "aggregate_snapshot_activity")


def measure(path: Path, repeat: int) -> dict[str, float]:
    params = OmegaConfigLoader(str(CONF), base_env="base", default_run_env="base")[
        "parameters"
    ]
    with tempfile.TemporaryDirectory() as tmp:
        clean = clean_dataset("base", Path(tmp) / "clean.parquet")
        run_slice(
            pipeline_of("data_processing"),
            {"raw_transactions": pl.scan_parquet(path).cast(pl.String)},
            params,
            datasets={"clean_transactions": clean},
        )
        single, snapshots = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            features = run_slice(
                pipeline_of("feature_engineering"),
                {"clean_transactions": clean.load()},
                params,
            )
            single.append(time.perf_counter() - started)
            started = time.perf_counter()
            history = run_slice(
                pipeline_of("segment_history").only_nodes(*SNAPSHOT_NODES),
                {
                    "clean_transactions": clean.load(),
                    "rfm_features": features["rfm_features"],
                },
                params,
            )
            snapshots.append(time.perf_counter() - started)
    return {
        "single_seconds": statistics.median(single),
        "snapshots_seconds": statistics.median(snapshots),
        "snapshots": len(history["snapshot_dates"]),
        "ratio": statistics.median(snapshots) / statistics.median(single),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.path, args.repeat)))
