"""Nodes of the segment_history pipeline.

The transaction-level aggregation is narwhals (any engine) and takes one pass over
the data for all snapshots: each transaction is tagged with the first snapshot it
counts for and activity is summed per customer and tag. The customer-level rest is
dense arrays (snapshots x customers) aligned with the customer table, whose own rows
are the last snapshot, the as-of date.
"""

from __future__ import annotations

import functools
import logging
import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from rfm_segmentation.frames import as_lazy, positions_of, to_pandas
from rfm_segmentation.history import (
    ABSENT,
    ENTERED,
    FEATURE_TYPES,
    MIGRATION_COLUMNS,
    SegmentHistory,
    same_ids,
)
from rfm_segmentation.model import FEATURES, segmenter_of
from rfm_segmentation.pipelines.data_processing.schema import passthrough_columns
from rfm_segmentation.pipelines.feature_engineering.nodes import feature_dates
from rfm_segmentation.profile import SegmentProfile
from rfm_segmentation.segments import base_segment, segment_slug

logger = logging.getLogger(__name__)
DAY = np.timedelta64(1, "D")
ASSIGNMENT_CHUNK = 1 << 20  # customers assigned at a time: bounded temporaries
MOVERS_FOLDER = "movers"  # the catalog's `movers`, under data/08_reporting
ACTIVITY_COLUMNS = [
    "customer_id",
    "period",
    "first_purchase_at",
    "last_purchase_at",
    "frequency",
    "monetary",
]


def choose_snapshot_dates(rfm_features: Any, snapshots: dict[str, Any]) -> list[str]:
    """The snapshot dates, oldest first, the last being the features' as-of date: ``snapshots.dates`` before it when given, else the last ``count`` dates of
    ``frequency`` (a pandas frequency; ``MS``, month starts, are the ends of the
    months before) up to the as-of date, the latest of them moved to the as-of date,
    and after the first purchase. A snapshot counts the purchases before its date.
    Data shorter than one period gets one snapshot and no migrations."""
    as_of, first = feature_dates(rfm_features)
    if snapshots.get("dates"):
        earlier = sorted({pd.Timestamp(d) for d in snapshots["dates"]} - {as_of})
        if any(d > as_of for d in earlier):
            raise ValueError(
                f"snapshots.dates must be before the as-of date {as_of.date()}"
            )
    else:
        dates = pd.date_range(
            end=as_of, periods=snapshots["count"], freq=snapshots["frequency"]
        )
        earlier = [d for d in dates[:-1] if d > first] if len(dates) else []
        if not earlier:
            logger.warning(
                "No snapshot date of frequency %r falls between the first purchase "
                "(%s) and the as-of date (%s): the segment history has one snapshot "
                "and no migrations. Set `snapshots.frequency` or `snapshots.dates` "
                "(conf/base/parameters_segment_history.yml) for more.",
                snapshots["frequency"],
                first.date(),
                as_of.date(),
            )
    return [d.date().isoformat() for d in [*earlier, as_of]]


def aggregate_snapshot_activity(
    clean_transactions: Any, snapshot_dates: list[str]
) -> pd.DataFrame:
    """Per customer and period (the index of the first snapshot before the as-of
    date that a transaction counts for): first and last purchase, purchases and
    spend, in one pass over the data. The as-of snapshot is the customer table.

    Purchases are distinct invoices, or distinct purchase days without an invoice
    column; either lies within one period, so per-period counts add up.
    """
    bounds = [datetime.fromisoformat(d) for d in snapshot_dates[:-1]]
    if not bounds:
        return pd.DataFrame(columns=ACTIVITY_COLUMNS)
    frame = as_lazy(clean_transactions)
    at = nw.col("invoiced_at")
    period = functools.reduce(
        operator.add, [(at >= nw.lit(b)).cast(nw.Int32) for b in bounds[:-1]], nw.lit(0)
    )
    frame = frame.filter(at < nw.lit(bounds[-1])).with_columns(period=period)
    purchase = "invoice_id"
    if purchase not in frame.collect_schema().names():
        purchase = "purchase_day"
        frame = frame.with_columns(purchase_day=at.dt.truncate("1d"))
    activity = frame.group_by("customer_id", "period").agg(
        at.min().alias("first_purchase_at"),
        at.max().alias("last_purchase_at"),
        nw.col(purchase).n_unique().alias("frequency"),
        nw.col("line_amount").sum().alias("monetary"),
    )
    return to_pandas(activity)


def segment_snapshots(
    snapshot_activity: pd.DataFrame,
    snapshot_dates: list[str],
    customer_segments: pd.DataFrame,
    segmentation_model: Pipeline,
    segment_profile: SegmentProfile,
) -> SegmentHistory:
    """Every customer's recency, frequency, monetary, tenure and segment at every
    snapshot, computed as ``compute_rfm_features`` does with the snapshot as the day
    after the data and named by the same assignment as the customer table; the last
    snapshot is the customer table itself. Customers who had not bought yet are
    ``ABSENT``, their features 0.

    The arrays are allocated once, in their final shape, and filled in place, and
    each snapshot is assigned ``ASSIGNMENT_CHUNK`` customers at a time: at ten
    million customers over a dozen snapshots each copy would be gigabytes."""
    ids = customer_segments["customer_id"].array
    columns = positions_of(
        snapshot_activity["customer_id"], customer_segments["customer_id"]
    )
    if (columns < 0).any():
        raise ValueError("snapshot activity names customers the table does not have")
    periods = snapshot_activity["period"].to_numpy(dtype=np.int64)
    shape = (len(snapshot_dates), len(ids))
    history = SegmentHistory(
        customer_ids=ids,
        snapshots=tuple(snapshot_dates),
        segment_names=segment_profile.segment_names,
        codes=np.full(shape, ABSENT, dtype=np.int8),
        **{f: np.zeros(shape, dtype=t) for f, t in FEATURE_TYPES.items()},
    )
    earlier = slice(0, len(snapshot_dates) - 1)  # the rows computed here
    frequency, monetary = history.frequency[earlier], history.monetary[earlier]
    frequency[periods, columns] = snapshot_activity["frequency"].to_numpy()
    monetary[periods, columns] = snapshot_activity["monetary"].to_numpy(dtype=float)
    np.cumsum(frequency, axis=0, out=frequency)
    np.cumsum(monetary, axis=0, out=monetary)
    np.round(monetary, 2, out=monetary)
    # the days of the last purchase so far, then the days since it (in place); before
    # a customer's first purchase it is the int32 minimum, and the recency is 0 below
    recency = history.recency[earlier]
    recency.fill(np.iinfo(np.int32).min)
    recency[periods, columns] = _days(snapshot_activity["last_purchase_at"])
    np.maximum.accumulate(recency, axis=0, out=recency)
    days = _days(pd.Series(snapshot_dates[earlier], dtype="datetime64[s]"))[:, None]
    np.subtract(days, recency, out=recency)
    first_day = np.full(len(ids), np.iinfo(np.int32).max, dtype=np.int32)
    np.minimum.at(first_day, columns, _days(snapshot_activity["first_purchase_at"]))
    tenure = history.tenure[earlier]
    np.subtract(days, first_day[None, :], out=tenure)
    segmenter = segmenter_of(segmentation_model, segment_profile.naming)
    names = pd.Series(segment_profile.segment_names)
    for s in range(len(snapshot_dates) - 1):
        for start in range(0, len(ids), ASSIGNMENT_CHUNK):
            part = slice(start, start + ASSIGNMENT_CHUNK)
            present = frequency[s, part] > 0
            rfm = np.column_stack(
                [getattr(history, f)[s, part][present] for f in FEATURES]
            )
            assigned = segmenter.assign(rfm, tenure[s, part][present])
            history.codes[s, part][present] = _codes(
                pd.Series(assigned.name_table), names
            )[assigned.name_codes]
            for feature in FEATURE_TYPES:
                getattr(history, feature)[s, part][~present] = 0
    history.codes[-1] = _codes(customer_segments["segment_name"], names)
    for feature, dtype in FEATURE_TYPES.items():
        getattr(history, feature)[-1] = customer_segments[feature].to_numpy(dtype=dtype)
    return history


def _codes(segment_names: pd.Series, profile_names: pd.Series) -> np.ndarray:
    """Each name's code: its position among the profile's names."""
    codes = positions_of(segment_names, profile_names)
    if (codes < 0).any():
        unknown = sorted(set(segment_names[codes < 0]))
        raise ValueError(f"segments the profile does not name: {unknown}")
    return codes.astype(np.int8)


def _days(values: pd.Series) -> np.ndarray:
    """Whole days since 1970 of the days of timestamps, as int32."""
    stamps = pd.to_datetime(values).to_numpy(dtype="datetime64[D]")
    return ((stamps - np.datetime64(0, "D")) // DAY).astype(np.int32)


def summarise_migrations(
    segment_history: SegmentHistory,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers moving between segments between every two consecutive snapshots
    (the people's table), and between every two snapshots (for the API)."""
    everything = segment_history.all_transitions()
    snapshots = list(segment_history.snapshots)
    consecutive = [
        snapshots.index(start) + 1 == snapshots.index(end)
        for start, end in zip(everything["from"], everything["to"], strict=True)
    ]
    return everything[consecutive].reset_index(drop=True), everything


def biggest_flows(segment_migrations: pd.DataFrame, top: int) -> pd.DataFrame:
    """The largest moves between different segments in the last transition, with a
    sentence a marketer can read."""
    if segment_migrations.empty:
        return pd.DataFrame(columns=[*MIGRATION_COLUMNS, "summary", "movers_file"])
    last = segment_migrations[
        segment_migrations["to"] == segment_migrations["to"].max()
    ]
    moves = last[last["from_segment"] != last["to_segment"]]
    flows = moves.nlargest(top, "customers").reset_index(drop=True)
    flows["summary"] = [
        f"{row.customers:,} {_who(row.from_segment)} became {row.to_segment} "
        f"({row.share:.0%}) between {row['from']} and {row['to']}"
        for _, row in flows.iterrows()
    ]
    flows["movers_file"] = [
        f"{MOVERS_FOLDER}/{movers_name(source, target)}.csv"
        for source, target in zip(
            flows["from_segment"], flows["to_segment"], strict=True
        )
    ]
    return flows


def movers_name(from_segment: str, to_segment: str) -> str:
    """The movers file of a flow, without folder and suffix: ``champions_to_at_risk``."""
    return f"{segment_slug(from_segment)}_to_{segment_slug(to_segment)}"


def export_movers(
    migration_highlights: pd.DataFrame,
    segment_history: SegmentHistory,
    customer_segments: pd.DataFrame,
    columns: Mapping[str, Any],
    currency: str,
) -> dict[str, Callable[[], pd.DataFrame]]:
    """The customers behind each highlighted flow, by movers file name: the customer
    id (named as in the source file), the ``columns.passthrough`` columns, both
    snapshots and segments, the new segment's strategy, and recency, frequency and
    monetary (in ``currency``) at the later snapshot. Each table is built as it is
    written (the partitioned dataset's lazy saving)."""
    history = segment_history
    if not same_ids(history.customer_ids, customer_segments["customer_id"].array):
        raise ValueError("the history does not list the customer table's customers")
    carried = customer_segments[passthrough_columns(columns)]
    code = {name: index for index, name in enumerate(history.segment_names)}
    files = {}
    for flow in migration_highlights.to_dict("records"):
        source = flow["from_segment"]
        positions = history.movers(
            history.snapshot(flow["from"]),
            history.snapshot(flow["to"]),
            None if source == ENTERED else code[source],
            code[flow["to_segment"]],
        )
        files[movers_name(source, flow["to_segment"])] = functools.partial(
            _movers, flow, positions, history, carried, columns["customer_id"], currency
        )
    return files


def _movers(
    flow: dict[str, Any],
    positions: np.ndarray,
    history: SegmentHistory,
    carried: pd.DataFrame,
    id_column: str,
    currency: str,
) -> pd.DataFrame:
    """One flow's movers table (``export_movers``), customers at ``positions``."""
    end = history.snapshot(flow["to"])
    return pd.DataFrame(
        {
            id_column: history.customer_ids[positions],
            **{name: carried[name].array[positions] for name in carried.columns},
            "from": flow["from"],
            "to": flow["to"],
            "from_segment": flow["from_segment"],
            "to_segment": flow["to_segment"],
            "strategy": base_segment(flow["to_segment"]).strategy,
            **{f: getattr(history, f)[end, positions] for f in FEATURES},
            "currency": currency,
        }
    )


def _who(segment: str) -> str:
    return "new customers" if segment == ENTERED else segment
