"""Segments over time: each customer's segment at a series of snapshot dates, as the
served model assigns it, and the migrations between two snapshots.

The history is published beside the release whose model assigned it, under the same
version (``<root>/<version>/segment_history.parquet`` with its own manifest, written
last), so the API serves a history and a model that belong together.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .release import InvalidRelease, parquet_bytes, publish_folder, read_folder
from .segments import segment_order

HISTORY_FILE = "segment_history.parquet"
HISTORY_COLUMNS = (
    "customer_id",
    "snapshot",
    "recency",
    "frequency",
    "monetary",
    "tenure",
    "segment_name",
)
ENTERED, LEFT = "entered", "left"  # not a customer yet at `from` / no longer at `to`


@dataclass(frozen=True)
class HistoryContent:
    """A history table and the release version whose model assigned its segments."""

    version: str
    table: pd.DataFrame


def write_history(root: Path, content: HistoryContent) -> Path:
    table = content.table.reset_index(drop=True)
    return publish_folder(
        root, content.version, {HISTORY_FILE: (parquet_bytes(table), len(table))}
    )


class HistoryFolder:
    """Histories by release version (what the ``release_history`` entry loads as)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, version: str) -> pd.DataFrame | None:
        """The history of release ``version``; None if none was published for it,
        InvalidRelease if one was and does not verify."""
        folder = self.root / version
        if not folder.is_dir():
            return None
        manifest, payloads = read_folder(folder, (HISTORY_FILE,))
        table = pd.read_parquet(io.BytesIO(payloads[HISTORY_FILE]))
        if list(table.columns) != list(HISTORY_COLUMNS):
            raise InvalidRelease(f"{HISTORY_FILE} has columns {list(table.columns)}")
        if len(table) != manifest.files[HISTORY_FILE].rows:
            raise InvalidRelease(f"{HISTORY_FILE} row count differs from its manifest")
        return table.astype({"customer_id": str})


def snapshots_of(history: pd.DataFrame) -> list[str]:
    """The snapshot dates of a history, oldest first, as ISO dates."""
    return sorted(history["snapshot"].unique().tolist())


def transitions(history: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    """Customers moving from each segment at snapshot ``start`` to each at ``end``.

    One row per (from_segment, to_segment) with at least one customer; customers not
    present at ``start`` come from ``entered``, those not present at ``end`` go to
    ``left``. ``share`` is the part of the from-segment's customers (entered: of all
    who entered). Rows follow segment order, then ``entered``.
    """
    before = history.loc[history["snapshot"] == start].set_index("customer_id")
    after = history.loc[history["snapshot"] == end].set_index("customer_id")
    pairs = pd.DataFrame(
        {
            "from_segment": before["segment_name"].reindex(
                before.index.union(after.index)
            ),
            "to_segment": after["segment_name"].reindex(
                before.index.union(after.index)
            ),
        }
    ).fillna({"from_segment": ENTERED, "to_segment": LEFT})
    counts = pairs.value_counts().rename("customers").reset_index()
    counts["share"] = (
        counts["customers"]
        / counts.groupby("from_segment")["customers"].transform("sum")
    ).round(4)
    rank = {
        name: i
        for i, name in enumerate(
            [*segment_order(set(history["segment_name"])), ENTERED, LEFT]
        )
    }
    return counts.sort_values(
        ["from_segment", "to_segment"], key=lambda names: names.map(rank)
    ).reset_index(drop=True)
