"""The four customer segments: the single source of their names, meaning and strategy.

Reporting, the API and the docs read this module; nothing else restates a segment.
Cluster labels from K-Means are arbitrary numbers, so segments are named from the
fitted centroids: each segment is a prototype corner of (recentness, value) space.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class Segment:
    """A named customer segment and the marketing play that goes with it."""

    name: str
    description: str
    strategy: str
    recent: bool
    high_value: bool

    @property
    def prototype(self) -> tuple[float, float]:
        """Position in (recentness, value) space, in standard deviations."""
        return (1.0 if self.recent else -1.0, 1.0 if self.high_value else -1.0)

    def to_dict(self) -> dict[str, str | bool]:
        return asdict(self)


SEGMENTS: tuple[Segment, ...] = (
    Segment(
        name="Champions",
        description="Bought recently, buy often and spend the most.",
        strategy=(
            "Reward and retain: loyalty perks, early access to new products, "
            "referral and review requests. No discounts needed."
        ),
        recent=True,
        high_value=True,
    ),
    Segment(
        name="At-Risk",
        description="Used to buy often and spend a lot, but have not bought for a while.",
        strategy=(
            "Win them back before they churn: personalised reactivation emails, "
            "offers on the products they used to buy, a service check-in."
        ),
        recent=False,
        high_value=True,
    ),
    Segment(
        name="New Customers",
        description="Bought recently, but only once or twice and for a small amount.",
        strategy=(
            "Build the habit: welcome series, a second-purchase incentive, "
            "recommendations based on the first order."
        ),
        recent=True,
        high_value=False,
    ),
    Segment(
        name="Lost Customers",
        description="Bought rarely and little, and not for a long time.",
        strategy=(
            "Spend little: one low-cost win-back campaign, then leave them out of "
            "paid channels."
        ),
        recent=False,
        high_value=False,
    ),
)

SEGMENT_NAMES: tuple[str, ...] = tuple(segment.name for segment in SEGMENTS)
_BY_NAME = {segment.name: segment for segment in SEGMENTS}


def base_segment(segment_name: str) -> Segment:
    """The segment a (possibly numbered, e.g. ``"Champions 2"``) name belongs to."""
    for name, segment in _BY_NAME.items():
        if segment_name == name or segment_name.startswith(f"{name} "):
            return segment
    raise KeyError(f"Unknown segment name {segment_name!r}; known: {SEGMENT_NAMES}")


def name_clusters(standardized_centroids: np.ndarray) -> list[str]:
    """Name K-Means clusters from centroids in standardized (recency, frequency,
    monetary) space.

    A centroid's recentness is minus its recency; its value is the mean of its
    frequency and monetary. Each segment is used at most once through an optimal
    one-to-one matching of centroids to prototypes (Hungarian algorithm), so k=4
    always yields the four names. With k < 4 the best-fitting k names are used.
    With k > 4 the clusters left over take the name of their nearest prototype with
    a number (``"Champions 2"``), numbered by distance to it.
    """
    centroids = np.asarray(standardized_centroids, dtype=float)
    positions = np.column_stack(
        (-centroids[:, 0], centroids[:, 1:3].mean(axis=1))
    )  # (recentness, value) per cluster
    prototypes = np.array([segment.prototype for segment in SEGMENTS])
    distances = ((positions[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=2)

    names: list[str | None] = [None] * len(centroids)
    rows, cols = linear_sum_assignment(distances)
    for row, col in zip(rows, cols, strict=True):
        names[row] = SEGMENTS[col].name

    leftovers = [i for i, name in enumerate(names) if name is None]
    nearest = distances.argmin(axis=1)
    counts = dict.fromkeys(SEGMENT_NAMES, 1)
    for i in sorted(leftovers, key=lambda i: distances[i, nearest[i]]):
        segment_name = SEGMENTS[nearest[i]].name
        counts[segment_name] += 1
        names[i] = f"{segment_name} {counts[segment_name]}"
    return [str(name) for name in names]


def segments_markdown() -> str:
    """The segments as a Markdown table, for the README and the docs."""
    rows = [
        "| Segment | Who they are | Marketing strategy |",
        "| --- | --- | --- |",
        *(f"| **{s.name}** | {s.description} | {s.strategy} |" for s in SEGMENTS),
    ]
    return "\n".join(rows)
