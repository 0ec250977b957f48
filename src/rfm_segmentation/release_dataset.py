"""The catalog's ``model_release``: a module of its own, so that the API reads the
catalog without importing the pipelines' datasets (Polars and the rest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset
from kedro.io.core import generate_timestamp

from .release import Release, ReleaseFolder, RunInput, write_release


class ModelReleaseDataset(AbstractDataset):
    """Saves a run's ``Release`` under a new Kedro-style version, staged: the
    project's hooks put it in place when the whole run has succeeded and tell the
    dataset the run's input (``for_run``). Loads as a ``ReleaseFolder`` to choose a
    release from (newest valid, or a pinned version)."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self.folder = ReleaseFolder(Path(filepath))
        self.metadata = metadata
        self._run_input: RunInput | None = None

    def for_run(self, run_input: RunInput) -> None:
        """Record ``run_input`` in the manifest of the release this run saves."""
        self._run_input = run_input

    def load(self) -> ReleaseFolder:
        return self.folder

    def save(self, data: Release) -> None:
        write_release(self.folder.root, data, generate_timestamp(), self._run_input)

    def _exists(self) -> bool:
        return bool(self.folder.versions())

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self.folder.root)}
