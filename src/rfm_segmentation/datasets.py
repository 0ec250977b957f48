"""Project datasets for the catalog: model releases, CSV and Parquet files replaced
atomically (lazy queries written by a streaming sink), CSV in any encoding."""

from __future__ import annotations

import codecs
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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


@contextmanager
def _replaced_atomically(target: str) -> Iterator[Path]:
    """A path in a scratch folder beside the local file ``target`` (its folder made
    if missing) to write to; renamed over ``target`` once written. The scratch folder
    is removed either way: a writer still finishing after a failure (Polars' sink
    threads can) finds no folder to leave a file in."""
    folder = Path(target).parent
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(
        tempfile.mkdtemp(prefix=f".{Path(target).name}.partial-", dir=folder)
    )
    try:
        partial = scratch / Path(target).name
        yield partial
        os.replace(partial, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class AtomicCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` whose local file is replaced in one step: written beside
    it, then renamed over it, so a reader never finds it empty or half written.
    (Object stores replace whole objects already; other protocols save as usual.)"""

    def save(self, data: pd.DataFrame) -> None:
        if self._protocol != "file":
            super().save(data)
            return
        target = get_filepath_str(self._get_save_path(), self._protocol)
        with _replaced_atomically(target) as partial:
            data.to_csv(partial, **self._save_args)
        self._invalidate_cache()


class _StreamingPolarsDataset(LazyPolarsDataset):
    """A file as a Polars LazyFrame, a lazy query written by Polars' streaming
    engine (``sink_<format>``): evaluated batch by batch into the local file, never
    held whole, and replacing it in one step. Eager frames and other protocols save
    as ``polars.LazyPolarsDataset`` does."""

    def save(self, data: pl.DataFrame | pl.LazyFrame) -> None:
        if self._protocol != "file" or not isinstance(data, pl.LazyFrame):
            super().save(data)
            return
        target = get_filepath_str(self._get_save_path(), self._protocol)
        with _replaced_atomically(target) as partial:
            getattr(data, f"sink_{self._file_format}")(partial, **self._save_args)
        self._invalidate_cache()


class StreamingParquetDataset(_StreamingPolarsDataset):
    """A Parquet file as a Polars LazyFrame, a lazy query streamed into it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(file_format="parquet", **kwargs)


class EncodedCSVDataset(_StreamingPolarsDataset):
    """A CSV file as a Polars LazyFrame, in any text encoding. UTF-8 (the default) is
    scanned lazily; another encoding (``kedro run --params encoding=latin-1``, any
    Python codec) is decoded while reading, which Polars' lazy scan cannot do. Saved
    as UTF-8, a lazy query streamed into it (the generator's millions of customers)."""

    def __init__(self, *, encoding: str = "utf-8", **kwargs: Any) -> None:
        super().__init__(file_format="csv", **kwargs)
        self._encoding = codecs.lookup(encoding).name  # LookupError names a bad one

    def load(self) -> pl.LazyFrame:
        if self._encoding == "utf-8":
            return super().load()
        path = get_filepath_str(self._get_load_path(), self._protocol)
        return pl.read_csv(path, encoding=self._encoding, **self._load_args).lazy()
