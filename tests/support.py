"""Helpers shared by tests and benchmarks: generated data, throwaway project copies
run through a real KedroSession, the project's base parameters, and customers drawn
from the customer-value models.

A project copy has the repository's real ``conf/`` and ``pyproject.toml`` and an
empty ``data/`` tree, so pipelines run through a real KedroSession and catalog
without touching the repository's own data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import polars as pl
from kedro.config import OmegaConfigLoader
from kedro.framework.project import configure_project, find_pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io.core import generate_timestamp

from rfm_segmentation.release import Release, ReleaseFolder

REPO = Path(__file__).resolve().parents[1]
# The real UCI file for the real-data tests: RFM_REAL_DATA, else ../shared/data.
REAL_DATA = Path(
    os.environ.get("RFM_REAL_DATA")
    or REPO.parent / "shared" / "data" / "online_retail.csv.gz"
)
DATA_LAYERS = [
    "01_raw",
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
]
SEGMENTS_CSV = "data/07_model_output/customer_segments.csv"
RELEASES = "data/06_models/releases"


def make_project(root: Path, raw: pl.DataFrame | None = None) -> Path:
    """A runnable copy of the project at ``root``, with ``raw`` as its raw CSV."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "conf", root / "conf", dirs_exist_ok=True)
    shutil.copy(REPO / "pyproject.toml", root)
    shutil.copy(REPO / ".telemetry", root)
    (root / "src").mkdir(exist_ok=True)  # the package itself is installed
    for layer in DATA_LAYERS:
        (root / "data" / layer).mkdir(parents=True, exist_ok=True)
    if raw is not None:
        raw.write_csv(root / "data" / "01_raw" / "online_retail.csv")
    return root


def run_kedro(project: Path, **session_args: Any) -> None:
    """``kedro run`` in-process: a real KedroSession on the project copy."""
    pipeline_names = session_args.pop("pipeline_names", None)
    bootstrap_project(project)
    with KedroSession.create(project_path=project, **session_args) as session:
        session.run(pipeline_names=pipeline_names)


def kedro_run(project: Path, *args: str) -> subprocess.CompletedProcess:
    """``kedro run`` as a user types it, in the project copy."""
    return subprocess.run(
        [sys.executable, "-m", "kedro", "run", *args],
        cwd=project,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "RFM_TRACEBACK": ""},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def registered_pipelines() -> set[str]:
    """The pipeline names ``find_pipelines`` registers, as ``kedro run`` sees them."""
    configure_project("rfm_segmentation")
    return set(find_pipelines(raise_errors=True)) - {"__default__"}


def newest_release(project: Path) -> Release:
    release, _ = ReleaseFolder(project / RELEASES).newest_valid(with_model=True)
    return release


def publish_copy(project: Path, version: str) -> str:
    """A copy of release ``version`` under a new version, published the way a run's
    hook publishes (complete beside, then renamed into place); the new version."""
    root = project / RELEASES
    new = generate_timestamp()
    while new <= max(ReleaseFolder(root).versions()):  # same millisecond
        new = generate_timestamp()
    staged = root / f".{new}.staged"
    shutil.copytree(root / version, staged)
    manifest = staged / "manifest.json"
    manifest.write_text(manifest.read_text().replace(version, new))
    staged.rename(root / new)
    return new


@cache
def base_parameters() -> dict[str, Any]:
    """The project's base parameters, loaded by Kedro's own config loader."""
    loader = OmegaConfigLoader(
        conf_source=str(REPO / "conf"), base_env="base", default_run_env="base"
    )
    return loader["parameters"]


def source_id() -> str:
    """The id column of the source file, as the column mapping (conf/base) names it."""
    return base_parameters()["columns"]["customer_id"]


def read_segments(project: Path, id_column: str | None = None) -> pd.DataFrame:
    """The people's customer table, ids as text (the id column named as in the
    source file: ``id_column``, by default the column mapping's)."""
    return pd.read_csv(
        project / SEGMENTS_CSV,
        dtype={id_column or source_id(): str, "rfm_score": str},
        keep_default_na=False,
    )


def four_groups(per_group: int = 50, seed: int = 0) -> pd.DataFrame:
    """RFM features of four well-separated behaviour groups; the recent one-off
    buyers are new (short tenure)."""
    rng = np.random.default_rng(seed)
    groups = [
        (5, 20, 5000, 300),
        (150, 6, 2000, 330),
        (10, 1, 60, 12),
        (300, 1, 40, 300),
    ]
    rows = [
        (
            rng.normal(r, r / 10),
            max(1, round(rng.normal(f, f / 10))),
            rng.normal(m, m / 10),
            round(rng.normal(t, t / 10)),
        )
        for r, f, m, t in groups
        for _ in range(per_group)
    ]
    table = pd.DataFrame(rows, columns=["recency", "frequency", "monetary", "tenure"])
    table = table.abs()
    table["tenure"] = table[["tenure", "recency"]].max(axis=1)
    table.insert(0, "customer_id", [f"c{i}" for i in range(len(table))])
    return table.assign(
        as_of="2011-12-10", first_purchase="2011-01-01", last_purchase="2011-12-01"
    )


class SimulatedCustomers(NamedTuple):
    """One row per customer: the models' summaries over the observation window, and
    the truth the models estimate (active at ``T``, purchases in the horizon)."""

    x: np.ndarray  # repeat purchases in (0, T]
    t_x: np.ndarray  # time of the last one (0 without)
    T: np.ndarray  # observation window since the first purchase
    m_x: np.ndarray  # mean value of the repeat purchases (0 without)
    alive: np.ndarray  # still active at T
    future: np.ndarray  # purchases in (T, T + horizon]


def simulate_customers(
    bg_nbd: tuple[float, float, float, float],
    gamma_gamma: tuple[float, float, float],
    T: np.ndarray,
    horizon: float = 0.0,
    seed: int = 0,
) -> SimulatedCustomers:
    """Customers drawn from BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, v), one
    per observation window in ``T``, without a loop over purchases: a customer with
    rate lambda ~ Gamma(r, rate alpha) and dropout p ~ Beta(a, b) drops out after
    repeat purchase N ~ Geometric(p); of the K ~ Poisson(lambda T) purchases an
    immortal one would make, x = min(K, N) happen, the last at the x-th of K uniform
    times on (0, T), i.e. T Beta(x, K - x + 1). The mean of x purchases worth
    Gamma(p, rate nu) each, nu ~ Gamma(q, rate v), is Gamma(p x, rate nu x)."""
    r, alpha, a, b = bg_nbd
    p, q, v = gamma_gamma
    rng = np.random.default_rng(seed)
    T = np.asarray(T, dtype=float)
    rate, dropout = rng.gamma(r, 1 / alpha, T.size), rng.beta(a, b, T.size)
    last = rng.geometric(np.maximum(dropout, 1e-300))
    immortal = rng.poisson(rate * T)
    x = np.minimum(immortal, last)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), immortal - x + 1), 0.0)
    alive = immortal < last
    future = np.where(alive, np.minimum(last - x, rng.poisson(rate * horizon)), 0)
    nu = rng.gamma(q, 1 / v, T.size)
    m_x = np.where(
        x > 0, rng.gamma(p * np.maximum(x, 1)) / (nu * np.maximum(x, 1)), 0.0
    )
    return SimulatedCustomers(x, t_x, T, m_x, alive, future)
