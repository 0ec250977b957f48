"""Shared fixtures: generated transactions and throwaway copies of the project.

A project copy has the repository's real ``conf/`` and ``pyproject.toml`` and an
empty ``data/`` tree, so pipelines run through a real KedroSession and catalog
without touching the repository's own data.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest
from kedro.config import OmegaConfigLoader
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from rfm_segmentation.synthetic_data import generate_transactions

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "online_retail.csv.gz"
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
SMALL_ROWS = 30_000


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


def catalog_of(project: Path, **session_args: Any):
    bootstrap_project(project)
    with KedroSession.create(project_path=project, **session_args) as session:
        return session.load_context().catalog


@pytest.fixture(scope="session")
def small_transactions() -> pl.DataFrame:
    """Generated UCI-format transactions, small enough for unit tests."""
    return generate_transactions(
        SMALL_ROWS, seed=7, start="2010-12-01", end="2011-12-09"
    )


@pytest.fixture
def project_factory(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1000))
    return lambda raw=None: make_project(tmp_path / f"project{next(counter)}", raw)


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory, small_transactions) -> Iterator[Path]:
    """A project copy on which the whole pipeline has run once."""
    project = make_project(tmp_path_factory.mktemp("trained"), small_transactions)
    run_kedro(project)
    yield project


@pytest.fixture(scope="session")
def params() -> dict[str, Any]:
    """The project's base parameters, loaded by Kedro's own config loader."""
    loader = OmegaConfigLoader(
        conf_source=str(REPO / "conf"), base_env="base", default_run_env="base"
    )
    return loader["parameters"]


def read_segments(project: Path) -> pd.DataFrame:
    return pd.read_csv(
        project / "data/07_model_output/customer_segments.csv", dtype={0: str}
    )
