"""Engine-agnostic frame helpers: nodes accept pandas, Polars or Spark frames."""

from __future__ import annotations

from typing import Any

import narwhals as nw


def as_lazy(native: Any) -> nw.LazyFrame[Any]:
    """Wrap any supported native frame as a narwhals LazyFrame (eager ones too)."""
    frame = nw.from_native(native)
    return frame.lazy() if isinstance(frame, nw.DataFrame) else frame
