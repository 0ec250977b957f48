"""Project datasets for the catalog: model releases, and CSV files replaced atomically."""

from __future__ import annotations

import codecs
import os
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
import polars as pl
from kedro.io import AbstractDataset
from kedro.io.core import generate_timestamp, get_filepath_str
from kedro_datasets.pandas import CSVDataset
from kedro_datasets.polars import LazyPolarsDataset

from .history import HistoryContent, HistoryFolder, write_history
from .release import ReleaseContent, ReleaseFolder, write_release


class _PublishedFoldersDataset(AbstractDataset):
    """A folder of published, versioned folders (see ``release.publish_folder``)."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._root = Path(filepath)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._root)}


class ModelReleaseDataset(_PublishedFoldersDataset):
    """Saves a run's model, profile and customer table as one release under a new
    Kedro-style version; loads as a ``ReleaseFolder`` to choose a release from
    (newest valid, or a pinned version).
    """

    def load(self) -> ReleaseFolder:
        return ReleaseFolder(self._root)

    def save(self, data: ReleaseContent) -> None:
        write_release(self._root, data, generate_timestamp())

    def _exists(self) -> bool:
        return bool(ReleaseFolder(self._root).versions())


class ReleaseHistoryDataset(_PublishedFoldersDataset):
    """Saves a segment history beside the release whose model assigned it, under that
    release's version; loads as a ``HistoryFolder`` to read one by version."""

    def load(self) -> HistoryFolder:
        return HistoryFolder(self._root)

    def save(self, data: HistoryContent) -> None:
        write_history(self._root, data)


class AtomicCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` whose local file is replaced in one step: written beside
    it, then renamed over it, so a reader never finds it empty or half written.
    (Object stores replace whole objects already; other protocols save as usual.)"""

    def save(self, data: pd.DataFrame) -> None:
        if self._protocol != "file":
            super().save(data)
            return
        target = PurePosixPath(get_filepath_str(self._get_save_path(), self._protocol))
        partial = Path(target.with_name(f".{target.name}.partial-{os.getpid()}"))
        try:
            data.to_csv(partial, **self._save_args)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        self._invalidate_cache()


class EncodedCSVDataset(LazyPolarsDataset):
    """A CSV file as a Polars LazyFrame, in any text encoding. UTF-8 (the default) is
    scanned lazily; another encoding (``kedro run --params encoding=latin-1``, any
    Python codec) is decoded while reading, which Polars' lazy scan cannot do."""

    def __init__(self, *, encoding: str = "utf-8", **kwargs: Any) -> None:
        super().__init__(file_format="csv", **kwargs)
        self._encoding = codecs.lookup(encoding).name  # LookupError names a bad one

    def load(self) -> pl.LazyFrame:
        if self._encoding == "utf-8":
            return super().load()
        path = get_filepath_str(self._get_load_path(), self._protocol)
        return pl.read_csv(path, encoding=self._encoding, **self._load_args).lazy()
