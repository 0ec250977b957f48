"""Lists of customers from the served release: a segment's customers (a page at a
time, or the whole list as CSV) and the customers who moved between two segments.

Rows are the release's customer table, sorted by customer id; a segment's rows are
found from the as-of row of the history's codes (one byte a customer), so a list
never reads more of the table than the rows it answers with.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import HTTPException, status
from pyarrow import csv

from rfm_segmentation.history import ENTERED
from rfm_segmentation.release import Release
from rfm_segmentation.segments import segment_slug

CSV_ROWS = 10_000  # rows per streamed CSV chunk


def segment_code(release: Release, name: str, *, entered: bool = False) -> int | None:
    """The segment's code in the release, by its name or file name (``at_risk``);
    None for ``entered`` where allowed; 404 naming the known ones otherwise."""
    if entered and name == ENTERED:
        return None
    names = release.profile.segment_names
    for code, known in enumerate(names):
        if name in (known, segment_slug(known)):
            return code
    also = f", or `{ENTERED}`" if entered else ""
    raise HTTPException(
        status.HTTP_404_NOT_FOUND,
        detail=f"No segment {name[:64]!r} in release {release.version}; segments: "
        f"{', '.join(names)} (or their file names, e.g. {segment_slug(names[-1])}"
        f"{also}).",
    )


def segment_positions(release: Release, code: int) -> np.ndarray:
    """Rows of the customer table in segment ``code`` at the as-of date, in id order."""
    return np.flatnonzero(np.asarray(release.history.codes[-1]) == code)


def page(
    release: Release, positions: np.ndarray, cursor: str | None, limit: int
) -> tuple[list[dict], str | None]:
    """Up to ``limit`` rows after the customer id ``cursor``, and the cursor of the
    next page (None on the last)."""
    start = np.searchsorted(positions, release.positions_after(cursor))
    chosen = positions[start : start + limit]
    rows = release.rows_at(chosen).to_pylist()
    more = start + limit < len(positions)
    return rows, rows[-1]["customer_id"] if more and rows else None


def csv_chunks(release: Release, positions: np.ndarray) -> Iterator[bytes]:
    """The rows as CSV, header first, ``CSV_ROWS`` rows a chunk (a header only for
    an empty list)."""
    for start in range(0, max(len(positions), 1), CSV_ROWS):
        table = _plain(release.rows_at(positions[start : start + CSV_ROWS]))
        buffer = io.BytesIO()
        csv.write_csv(
            table,
            buffer,
            csv.WriteOptions(include_header=start == 0, quoting_style="needed"),
        )
        yield buffer.getvalue()


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary-encoded columns as their values (what a CSV shows)."""
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            values = pc.cast(table.column(index), field.type.value_type)
            table = table.set_column(index, field.name, values)
    return table
