"""Nodes of the segment_history pipeline.

The transaction-level aggregation is narwhals (any engine) and takes one pass over
the data for all snapshots: each transaction is tagged with the first snapshot it
counts for, activity is summed per customer and tag, and the customer-level table
it produces is accumulated across snapshots in pandas.
"""

from __future__ import annotations

import functools
import itertools
import logging
import operator
from datetime import datetime
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from rfm_segmentation.frames import as_lazy, to_pandas
from rfm_segmentation.history import (
    HISTORY_COLUMNS,
    HistoryContent,
    snapshots_of,
    transitions,
)
from rfm_segmentation.model import FEATURES
from rfm_segmentation.release import ReleaseFolder

logger = logging.getLogger(__name__)
MIGRATION_COLUMNS = ["from", "to", "from_segment", "to_segment", "customers", "share"]


def choose_snapshot_dates(
    customer_activity: pd.DataFrame, snapshots: dict[str, Any]
) -> list[str]:
    """The snapshot dates, oldest first: ``snapshots.dates`` when given, else the last
    ``count`` dates of ``frequency`` (a pandas frequency; ``MS``, month starts, are
    the ends of the months before) on or before the day after the last transaction,
    and after the first one. A snapshot counts the transactions before its date.
    Data shorter than one period gets one snapshot, the day after its last
    transaction (as the model's own), and no migrations."""
    if snapshots.get("dates"):
        return sorted({pd.Timestamp(d).date().isoformat() for d in snapshots["dates"]})
    first = pd.to_datetime(customer_activity["first_purchase_at"]).min().normalize()
    last = pd.to_datetime(customer_activity["last_purchase_at"]).max().normalize()
    dates = pd.date_range(
        end=last + pd.Timedelta(days=1),
        periods=snapshots["count"],
        freq=snapshots["frequency"],
    )
    chosen = [d.date().isoformat() for d in dates if d > first]
    if not chosen:
        logger.warning(
            "No snapshot date of frequency %r falls within the data (%s to %s): the "
            "segment history has one snapshot and no migrations. Set "
            "`snapshots.frequency` or `snapshots.dates` "
            "(conf/base/parameters_segment_history.yml) for more.",
            snapshots["frequency"],
            first.date(),
            last.date(),
        )
        chosen = [(last + pd.Timedelta(days=1)).date().isoformat()]
    return chosen


def aggregate_snapshot_activity(
    clean_transactions: Any, snapshot_dates: list[str]
) -> pd.DataFrame:
    """Per customer and period (the index of the first snapshot a transaction counts
    for): first and last purchase, purchases and spend, in one pass over the data.

    Purchases are distinct invoices, or distinct purchase days without an invoice
    column; either lies within one period, so per-period counts add up.
    """
    frame = as_lazy(clean_transactions)
    bounds = [datetime.fromisoformat(d) for d in snapshot_dates]
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


def compute_snapshot_features(
    snapshot_activity: pd.DataFrame, snapshot_dates: list[str]
) -> pd.DataFrame:
    """Recency, frequency, monetary and tenure of every customer at every snapshot
    from their first purchase on, as ``compute_rfm_features`` computes them with the
    snapshot as the day after the data: customers who had not yet bought are absent."""
    activity = snapshot_activity.astype({"period": "int64"}).sort_values(
        ["customer_id", "period"], ignore_index=True
    )  # so that totals accumulate in time order, and rows come out sorted
    per_customer = activity.groupby("customer_id", sort=False)
    cumulative = activity.assign(
        frequency=per_customer["frequency"].cumsum(),
        monetary=per_customer["monetary"].cumsum(),
        first_purchase_at=per_customer["first_purchase_at"].cummin(),
        last_purchase_at=per_customer["last_purchase_at"].cummax(),
    )
    # each period's totals hold for its snapshot and every one until the next period
    following = cumulative.groupby("customer_id", sort=False)["period"].shift(-1)
    spans = following.fillna(len(snapshot_dates)).astype("int64") - cumulative["period"]
    expanded = cumulative.loc[cumulative.index.repeat(spans)]
    index = expanded["period"] + expanded.groupby(level=0).cumcount()
    dates = pd.to_datetime(pd.Series(snapshot_dates)).to_numpy()[index.to_numpy()]
    last_day = pd.to_datetime(expanded["last_purchase_at"]).dt.normalize().to_numpy()
    first_day = pd.to_datetime(expanded["first_purchase_at"]).dt.normalize().to_numpy()
    return pd.DataFrame(
        {
            "customer_id": expanded["customer_id"].to_numpy(),
            "snapshot": pd.array(snapshot_dates, dtype="str")[index.to_numpy()],
            "recency": ((dates - last_day) // np.timedelta64(1, "D")).astype("int64"),
            "frequency": expanded["frequency"].to_numpy().astype("int64"),
            "monetary": expanded["monetary"].to_numpy().astype(float).round(2),
            "tenure": ((dates - first_day) // np.timedelta64(1, "D")).astype("int64"),
        }
    )


def segment_snapshots(
    snapshot_features: pd.DataFrame, model_release: ReleaseFolder
) -> tuple[pd.DataFrame, HistoryContent]:
    """Each customer's segment at each snapshot, by the newest valid release's model
    (the same Pipeline and names as the API serves), and that history to publish
    beside the release."""
    release, _ = model_release.newest_valid()
    labels = release.model.predict(snapshot_features[FEATURES].to_numpy(dtype=float))
    history = snapshot_features.assign(
        customer_id=snapshot_features["customer_id"].astype(str),
        segment_name=np.asarray(release.profile.names, dtype=object)[labels],
    )[list(HISTORY_COLUMNS)]
    return history, HistoryContent(release.version, history)


def summarise_migrations(segment_history: pd.DataFrame) -> pd.DataFrame:
    """Transitions between every two consecutive snapshots (long form: from, to,
    from_segment, to_segment, customers, share)."""
    dates = snapshots_of(segment_history)
    tables = [
        transitions(segment_history, start, end).assign(**{"from": start, "to": end})
        for start, end in itertools.pairwise(dates)
    ]
    if not tables:
        return pd.DataFrame(columns=MIGRATION_COLUMNS)
    return pd.concat(tables, ignore_index=True)[MIGRATION_COLUMNS]


def biggest_flows(segment_migrations: pd.DataFrame, top: int) -> pd.DataFrame:
    """The largest moves between different segments in the last transition, with a
    sentence a marketer can read."""
    if segment_migrations.empty:
        return segment_migrations.assign(summary=[])
    last = segment_migrations[
        segment_migrations["to"] == segment_migrations["to"].max()
    ]
    moves = last[last["from_segment"] != last["to_segment"]]
    flows = moves.nlargest(top, "customers").reset_index(drop=True)
    flows["summary"] = [
        f"{row.customers:,} {_who(row.from_segment)} "
        f"{'left' if row.to_segment == 'left' else 'became ' + row.to_segment} "
        f"({row.share:.0%}) between {row['from']} and {row['to']}"
        for _, row in flows.iterrows()
    ]
    return flows


def _who(segment: str) -> str:
    return "new customers" if segment == "entered" else segment
