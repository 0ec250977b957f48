"""Segments over time: every customer's features and segment at each snapshot, as
dense arrays (snapshots x customers) aligned with the customer table, so that a
million customers over a dozen snapshots stay a few hundred megabytes and every
question (a customer's history, who moved from one segment to another) is a slice.

The last snapshot is the release's as-of date and its row *is* the customer table,
so a customer's last history entry always equals its row there.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.extensions import ExtensionArray

ENTERED = "entered"  # not a customer yet at the earlier snapshot
ABSENT = -1  # segment code of a customer before their first purchase
# customers counted at a time: in cache, with no temporaries as long as the history
TRANSITION_CHUNK = 1 << 20
MIGRATION_COLUMNS = ["from", "to", "from_segment", "to_segment", "customers", "share"]
FEATURE_TYPES = {
    "recency": np.int32,
    "frequency": np.int32,
    "monetary": np.float64,
    "tenure": np.int32,
}


def same_ids(
    ids: np.ndarray | ExtensionArray, other: np.ndarray | ExtensionArray
) -> bool:
    """Whether two id columns list the same ids in the same order (compared as
    Arrow arrays: ten million Python strings would be gigabytes)."""
    return _arrow_ids(ids).equals(_arrow_ids(other))


def _arrow_ids(ids: np.ndarray | ExtensionArray) -> pa.ChunkedArray:
    column = pa.array(ids, type=pa.large_string())
    return column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])


@dataclass(frozen=True)
class SegmentHistory:
    """``codes[s, i]``: customer ``i``'s segment at ``snapshots[s]`` (an index into
    ``segment_names``, ``ABSENT`` before their first purchase); the features alike."""

    # (n,) in the customer table's order: its id column itself (Arrow-backed, no
    # Python string per customer); empty in a published release, whose table's rows
    # are the positions
    customer_ids: np.ndarray | ExtensionArray
    snapshots: tuple[str, ...]  # ISO dates, oldest first; the last is the as-of date
    segment_names: tuple[str, ...]
    codes: np.ndarray  # (S, n) int8
    recency: np.ndarray  # (S, n) int32
    frequency: np.ndarray  # (S, n) int32
    monetary: np.ndarray  # (S, n) float64
    tenure: np.ndarray  # (S, n) int32

    def snapshot(self, date: str) -> int:
        """The index of snapshot ``date``; KeyError if it is none."""
        try:
            return self.snapshots.index(date)
        except ValueError:
            raise KeyError(date) from None

    def long_tables(self) -> Iterator[pa.Table]:
        """The history as the people's long table, one snapshot at a time: customer
        id, snapshot, features and segment of the customers present. Built as
        Arrow from the arrays (the text columns taken from the ids and names by
        position): no Python string per row."""
        ids = _arrow_ids(self.customer_ids)
        names = pa.array(self.segment_names, pa.string())
        for s, date in enumerate(self.snapshots):
            rows = np.flatnonzero(self.codes[s] != ABSENT)
            yield pa.table(
                {
                    "customer_id": ids.take(rows).cast(pa.string()),
                    "snapshot": pa.repeat(date, len(rows)),
                    **{f: getattr(self, f)[s, rows] for f in FEATURE_TYPES},
                    "segment_name": names.take(self.codes[s, rows]),
                }
            )

    def long(self) -> pd.DataFrame:
        return pa.concat_tables(self.long_tables()).to_pandas()

    def sizes(self) -> pd.DataFrame:
        """Customers per segment (columns, in segment order) at each snapshot."""
        k = len(self.segment_names)
        counts = [
            np.bincount(row[row != ABSENT].astype(np.int64), minlength=k)
            for row in self.codes
        ]
        table = pd.DataFrame(
            counts, index=list(self.snapshots), columns=self.segment_names
        )
        return table.loc[:, table.sum() > 0]

    def transitions(self, start: int, end: int) -> pd.DataFrame:
        """Customers moving from each segment at snapshot ``start`` to each at
        ``end``; customers with no purchase before ``start`` come from ``entered``.
        ``share`` is the part of the from-segment's customers (entered: of all who
        entered). Rows with customers only, in segment order, ``entered`` last."""
        k = len(self.segment_names)
        # rows and columns: ABSENT (entered; not present yet), then the segments
        counts = np.zeros((k + 1) ** 2, dtype=np.int64)
        for chunk in range(0, self.codes.shape[1], TRANSITION_CHUNK):
            before, after = (
                self.codes[s, chunk : chunk + TRANSITION_CHUNK].astype(np.intp) + 1
                for s in (start, end)
            )
            counts += np.bincount(before * (k + 1) + after, minlength=(k + 1) ** 2)
        counts = counts.reshape(k + 1, k + 1)[:, 1:]
        counts = np.vstack([counts[1:], counts[:1]])  # entered last
        sources, targets = np.nonzero(counts)
        names = [*self.segment_names, ENTERED]
        customers = counts[sources, targets]
        totals = counts.sum(axis=1)[sources]
        return pd.DataFrame(
            {
                "from": self.snapshots[start],
                "to": self.snapshots[end],
                "from_segment": [names[i] for i in sources],
                "to_segment": [names[j] for j in targets],
                "customers": customers,
                "share": np.round(customers / totals, 4),
            },
            columns=MIGRATION_COLUMNS,
        )

    def all_transitions(self) -> pd.DataFrame:
        """``transitions`` between every two snapshots, earlier to later."""
        tables = [
            self.transitions(start, end)
            for start, end in itertools.combinations(range(len(self.snapshots)), 2)
        ]
        if not tables:
            return pd.DataFrame(columns=MIGRATION_COLUMNS)
        return pd.concat(tables, ignore_index=True)

    def movers(
        self, start: int, end: int, source: int | None, target: int
    ) -> np.ndarray:
        """Positions of the customers in segment code ``source`` at ``start`` (None:
        entered since) and ``target`` at ``end``."""
        before = self.codes[start]
        came = before == (ABSENT if source is None else source)
        return np.flatnonzero(came & (self.codes[end] == target))
