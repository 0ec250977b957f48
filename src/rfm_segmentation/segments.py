"""The four customer segments: the single source of their names, meaning and strategy.

Reporting, the API and the docs read this module; nothing else restates a segment.
Cluster labels from K-Means are arbitrary numbers, so segments are named from the
fitted centroids: each segment is a prototype corner of (recentness, value) space.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

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
    colour: str  # in every figure; numbered clusters ("Champions 2") get lighter tints

    @property
    def prototype(self) -> tuple[float, float]:
        """Position in (recentness, value) space, in standard deviations."""
        return (1.0 if self.recent else -1.0, 1.0 if self.high_value else -1.0)


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
        colour="#2a9d8f",
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
        colour="#e76f51",
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
        colour="#457b9d",
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
        colour="#8d99ae",
    ),
)

SEGMENT_NAMES: tuple[str, ...] = tuple(segment.name for segment in SEGMENTS)
_BY_NAME = {segment.name: segment for segment in SEGMENTS}


_NUMBERED = re.compile(r"(?P<name>.+?)(?: (?P<number>[2-9]|[1-9][0-9]+))?")


def _parse(segment_name: str) -> tuple[Segment, int]:
    """A segment name's segment and number (1 for the plain name)."""
    match = _NUMBERED.fullmatch(segment_name)
    if match is None or match["name"] not in _BY_NAME:
        raise KeyError(f"Unknown segment name {segment_name!r}; known: {SEGMENT_NAMES}")
    return _BY_NAME[match["name"]], int(match["number"] or 1)


def base_segment(segment_name: str) -> Segment:
    """The segment a (possibly numbered, e.g. ``"Champions 2"``) name belongs to."""
    return _parse(segment_name)[0]


def segment_order(segment_names: Iterable[str]) -> list[str]:
    """Names in the order of SEGMENTS, numbered ones after their segment's plain name."""
    rank = {segment.name: i for i, segment in enumerate(SEGMENTS)}
    return sorted(
        segment_names,
        key=lambda name: (rank[_parse(name)[0].name], _parse(name)[1]),
    )


def segment_colour(segment_name: str) -> str:
    """The segment's colour, tinted towards white for each number after the first."""
    segment, number = _parse(segment_name)
    tint = min(0.25 * (number - 1), 0.75)
    channels = (int(segment.colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c + (255 - c) * tint):02x}" for c in channels)


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
