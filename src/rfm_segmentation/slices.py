"""Run a slice of the project's pipelines in memory: what tests, benchmarks and
notebooks use instead of calling nodes one by one, so they always run the nodes
exactly as the registered pipelines wire them.

    features = run_slice(
        feature_pipeline(), {"raw_transactions": raw}, parameters
    )["rfm_features"]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kedro.io import AbstractDataset, DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner

from .pipelines import (
    clustering,
    customer_value,
    data_processing,
    feature_engineering,
    release,
    reporting,
    segment_history,
)

PIPELINES = {
    "data_processing": data_processing.create_pipeline,
    "feature_engineering": feature_engineering.create_pipeline,
    "clustering": clustering.create_pipeline,
    "reporting": reporting.create_pipeline,
    "segment_history": segment_history.create_pipeline,
    "customer_value": customer_value.create_pipeline,
    "release": release.create_pipeline,
}


def pipeline_of(*names: str) -> Pipeline:
    """The named pipelines joined, as ``kedro run --pipeline`` would run them."""
    return sum((PIPELINES[name]() for name in names), Pipeline([]))


def feature_pipeline() -> Pipeline:
    """Raw transactions to RFM features: data_processing and feature_engineering."""
    return pipeline_of("data_processing", "feature_engineering")


def run_slice(
    pipeline: Pipeline,
    inputs: Mapping[str, Any],
    parameters: Mapping[str, Any],
    datasets: Mapping[str, AbstractDataset] | None = None,
) -> dict[str, Any]:
    """Run ``pipeline`` on ``inputs`` (dataset name -> data) with ``parameters`` (as
    in conf/base); every dataset lives in memory unless ``datasets`` names a real one.
    Returns every dataset the slice wrote, by name."""
    catalog = DataCatalog(
        {
            **{name: _memory() for name in pipeline.datasets()},
            **{name: _memory(value) for name, value in _parameter_feed(parameters)},
            **{name: _memory(value) for name, value in inputs.items()},
            **(datasets or {}),
        }
    )
    SequentialRunner().run(pipeline, catalog)
    return {name: catalog.load(name) for name in pipeline.all_outputs()}


class _KeptDataset(MemoryDataset):
    """In memory, and kept after its last reader (a runner releases memory datasets),
    so that the caller can read every output."""

    def _release(self) -> None:
        pass


def _memory(*data: Any) -> MemoryDataset:
    """An empty in-memory dataset, or one holding ``data`` (None too, as a parameter
    may be)."""
    return _KeptDataset(*data, copy_mode="assign")


def _parameter_feed(parameters: Mapping[str, Any], prefix: str = "params:"):
    """``params:a`` and ``params:a.b`` entries, as Kedro feeds nested parameters."""
    for key, value in parameters.items():
        yield f"{prefix}{key}", value
        if isinstance(value, Mapping):
            yield from _parameter_feed(value, f"{prefix}{key}.")
