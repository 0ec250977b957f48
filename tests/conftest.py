"""Fixtures: generated transactions, project copies and a trained project.
Helpers themselves live in tests/support.py, importable by benchmarks too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from rfm_segmentation.synthetic_data import generate_transactions

from .support import base_parameters, make_project, run_kedro

SMALL_ROWS = 30_000


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
    return base_parameters()
