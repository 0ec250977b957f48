"""Project datasets for the catalog: model releases, the segment history, the
profile, CSV and Parquet files replaced atomically (lazy queries written by a
streaming sink), CSV in any encoding."""

from __future__ import annotations

import codecs
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from kedro.io import AbstractDataset
from kedro.io.core import get_filepath_str
from kedro_datasets.pandas import CSVDataset
from kedro_datasets.polars import LazyPolarsDataset

from .history import FEATURE_TYPES, SegmentHistory
from .profile import SegmentProfile


class SegmentHistoryDataset(AbstractDataset):
    """A ``SegmentHistory`` saved as the people's long Parquet table (customer id,
    snapshot, features, segment), one snapshot at a time, replacing the file in one
    step; loads as a pandas DataFrame."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        return pd.read_parquet(self._filepath)

    def save(self, data: SegmentHistory) -> None:
        schema = pa.schema(
            [
                ("customer_id", pa.string()),
                ("snapshot", pa.string()),
                *((name, pa.from_numpy_dtype(t)) for name, t in FEATURE_TYPES.items()),
                ("segment_name", pa.string()),
            ]
        )
        with (
            _replaced_atomically(str(self._filepath)) as partial,
            pq.ParquetWriter(partial, schema) as writer,
        ):
            for table in data.long_tables():
                writer.write_table(table.cast(schema))

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class SegmentProfileDataset(AbstractDataset):
    """The segment profile as a JSON file (replaced in one step), validated on load."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> SegmentProfile:
        return SegmentProfile.model_validate_json(self._filepath.read_bytes())

    def save(self, data: SegmentProfile) -> None:
        with _replaced_atomically(str(self._filepath)) as partial:
            partial.write_text(data.model_dump_json(indent=2))

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


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


CSV_CHUNK_ROWS = 1 << 18


class AtomicCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` whose local file is replaced in one step: written beside
    it, then renamed over it, so a reader never finds it empty or half written. The
    frame (without its index) is written by Polars' CSV writer, ~10x pandas' at a
    million customers, ``CSV_CHUNK_ROWS`` rows at a time (a Polars copy of ten
    million customers would be gigabytes); ``save_args`` are
    ``polars.DataFrame.write_csv``'s. (Object stores replace whole objects already;
    other protocols save as pandas does.)"""

    # pandas' default index=False is no Polars argument: Polars writes no index
    DEFAULT_SAVE_ARGS: ClassVar[dict[str, Any]] = {}

    def save(self, data: pd.DataFrame) -> None:
        if self._protocol != "file":
            super().save(data)
            return
        target = get_filepath_str(self._get_save_path(), self._protocol)
        first_only = {"include_header": True, "include_bom": False}  # their defaults
        first_only |= {k: v for k, v in self._save_args.items() if k in first_only}
        with _replaced_atomically(target) as partial, partial.open("wb") as file:
            for start in range(0, max(len(data), 1), CSV_CHUNK_ROWS):
                rows = data.iloc[start : start + CSV_CHUNK_ROWS]
                pl.from_pandas(rows, include_index=False).write_csv(
                    file,
                    **self._save_args
                    | {k: v and not start for k, v in first_only.items()},
                )
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
