"""Engine-agnostic frame helpers: nodes accept pandas, Polars or Spark frames."""

from __future__ import annotations

from typing import Any

import narwhals as nw
import pandas as pd


def as_lazy(native: Any) -> nw.LazyFrame[Any]:
    """Wrap any supported native frame as a narwhals LazyFrame (eager ones too)."""
    frame = nw.from_native(native)
    return frame.lazy() if isinstance(frame, nw.DataFrame) else frame


def to_pandas(frame: nw.LazyFrame[Any]) -> pd.DataFrame:
    """Evaluate a (small, per-customer) frame into pandas, on any engine. Spark
    Connect attaches its query metrics as ``DataFrame.attrs``, which Parquet writers
    cannot store; they are dropped."""
    table = frame.collect(backend="pandas").to_native()
    table.attrs = {}
    return table
