"""Engine-agnostic frame helpers: nodes accept pandas, Polars or Spark frames."""

from __future__ import annotations

from typing import Any

import narwhals as nw
import pandas as pd
from narwhals.dependencies import is_pyspark_connect_dataframe, is_pyspark_dataframe


def as_lazy(native: Any) -> nw.LazyFrame[Any]:
    """Wrap any supported native frame as a narwhals LazyFrame (eager ones too)."""
    frame = nw.from_native(native)
    return frame.lazy() if isinstance(frame, nw.DataFrame) else frame


def is_spark(native: Any) -> bool:
    """Whether ``native`` is a Spark DataFrame (classic or Spark Connect)."""
    return is_pyspark_dataframe(native) or is_pyspark_connect_dataframe(native)


def to_pandas(frame: nw.LazyFrame[Any]) -> pd.DataFrame:
    """Evaluate a (small, per-customer) frame into pandas, on any engine. Spark
    Connect attaches its query metrics as ``DataFrame.attrs``, which Parquet writers
    cannot store; they are dropped."""
    table = frame.collect(backend="pandas").to_native()
    table.attrs = {}
    return table


def collected(native: Any) -> pd.DataFrame:
    """A customer table as pandas on the driver: pandas as it is, any other frame
    evaluated (a Spark DataFrame crosses to the driver whole)."""
    if isinstance(native, pd.DataFrame):
        return native
    return to_pandas(as_lazy(native))
