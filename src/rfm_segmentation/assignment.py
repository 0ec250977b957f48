"""One assignment everywhere: the fitted model's nearest centre, then each customer's
own numbers checked against that segment's per-customer rules.

``Segmenter`` is the fitted Pipeline reduced to its arithmetic (the clip's bounds,
log1p, the scaler's mean and scale, the centroids; ``model.segmenter_of``) plus the
clusters' names and the thresholds learned at fit time. It names the training
customers, the customer table, every history snapshot and the API's answers;
``tests/test_assignment.py`` checks its labels equal ``Pipeline.predict``. A release
stores it as JSON, so the API serves without scikit-learn and never unpickles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from pydantic import BaseModel, ConfigDict

from .profile import FEATURES, SegmentNaming
from .segments import (
    RETURNING,
    SEGMENTS,
    CustomerThresholds,
    Segment,
    base_segment,
    customer_rule_groups,
    failed_reason,
    first_failed_group,
    unchecked_rules,
)

KEPT = "cluster"


class SegmenterArithmetic(BaseModel):
    """What a fitted segmentation Pipeline computes, as numbers: clip at ``upper``,
    log1p, subtract ``mean``, divide by ``scale``, nearest of ``centroids``. Floats
    round-trip through JSON exactly."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    upper: list[float]
    mean: list[float]
    scale: list[float]
    centroids: list[list[float]]


CHUNK = 500_000  # customers assigned at a time: bounds the (n, k) temporaries


@dataclass(frozen=True)
class Assignment:
    """Each customer's cluster, and its name and reason as codes into short tables
    (a million customers need no Python strings until they are written)."""

    labels: np.ndarray  # (n,) K-Means cluster: the nearest centre
    name_codes: np.ndarray  # (n,) final segment name, as its index in name_table
    reason_codes: np.ndarray  # (n,) index in reason_table: "cluster" or why it moved
    name_table: tuple[str, ...]
    reason_table: tuple[str, ...]

    @property
    def names(self) -> np.ndarray:
        """(n,) final segment names (object)."""
        return np.asarray(self.name_table, dtype=object)[self.name_codes]

    @property
    def reasons(self) -> np.ndarray:
        """(n,) ``KEPT``, or why the customer moved (object)."""
        return np.asarray(self.reason_table, dtype=object)[self.reason_codes]


@dataclass(frozen=True)
class Segmenter:
    upper: np.ndarray  # (3,) where the model clips each feature
    mean: np.ndarray  # (3,) StandardScaler.mean_
    scale: np.ndarray  # (3,) StandardScaler.scale_
    centroids: np.ndarray  # (k, 3) KMeans.cluster_centers_ in standardized space
    cluster_names: tuple[str, ...]
    thresholds: CustomerThresholds
    low: np.ndarray  # (3,) training minimum per feature
    high: np.ndarray  # (3,) training maximum per feature

    @classmethod
    def of(
        cls,
        arithmetic: SegmenterArithmetic,
        naming: SegmentNaming,
    ) -> Segmenter:
        """The segmenter of a fitted model's ``arithmetic`` and its ``naming``."""
        if len(arithmetic.centroids) != len(naming.cluster_names):
            raise ValueError("the naming does not name the model's clusters")
        ranges = naming.feature_ranges
        return cls(
            upper=np.array(arithmetic.upper),
            mean=np.array(arithmetic.mean),
            scale=np.array(arithmetic.scale),
            centroids=np.array(arithmetic.centroids),
            cluster_names=tuple(naming.cluster_names),
            thresholds=naming.thresholds,
            low=np.array([getattr(ranges, f).min for f in FEATURES]),
            high=np.array([getattr(ranges, f).max for f in FEATURES]),
        )

    def distances(self, rfm: np.ndarray) -> np.ndarray:
        """(n, k) squared distances to each centre, in the model's space."""
        standardized = (np.log1p(np.minimum(rfm, self.upper)) - self.mean) / self.scale
        columns = standardized.T  # summed feature by feature, in order: one (n,) pass
        return np.column_stack(  # per centre and feature, no (n, k, 3) temporary
            [
                sum((x - c) ** 2 for x, c in zip(columns, centre, strict=True))
                for centre in self.centroids
            ]
        )

    def predict(self, rfm: np.ndarray) -> np.ndarray:
        """K-Means labels (the nearest centre) for (n, 3) recency, frequency, monetary."""
        return self.distances(rfm).argmin(axis=1)

    def outside_training_range(self, rfm: np.ndarray) -> np.ndarray:
        """(n,) True where any feature lies outside what the model was trained on."""
        return ((rfm < self.low) | (rfm > self.high)).any(axis=1)

    def assign(self, rfm: np.ndarray, tenure: np.ndarray | None = None) -> Assignment:
        """Each customer's cluster and name: the nearest centre's name if the
        customer meets that segment's per-customer rules, else the nearest centre's
        whose segment's rules they meet, else a segment no cluster carries whose
        rules they meet, else ``RETURNING``. Without ``tenure`` its rules are not
        checked (see ``unchecked``)."""
        rfm = np.asarray(rfm, dtype=float).reshape(-1, 3)
        parts = [
            self._assign(
                rfm[start : start + CHUNK],
                None if tenure is None else np.asarray(tenure)[start : start + CHUNK],
            )
            for start in range(0, max(len(rfm), 1), CHUNK)
        ]
        labels, name_codes, reason_codes = (
            np.concatenate(column) for column in zip(*parts, strict=True)
        )
        return Assignment(
            labels, name_codes, reason_codes, self._name_table, self._reason_table
        )

    def assign_one(
        self, recency: float, frequency: float, monetary: float, tenure: float | None
    ) -> tuple[int, str, str]:
        """``assign`` for one customer, in plain Python: its cluster, name and
        reason, equal to ``assign``'s (``tests/test_assignment.py``) at a small
        fraction of the cost of numpy on one row (an API request)."""
        features = {
            "recency": recency,
            "frequency": frequency,
            "monetary": monetary,
            "tenure": tenure,
        }
        standardized = [
            (math.log1p(min(value, upper)) - mean) / scale
            for value, upper, mean, scale in zip(
                (recency, frequency, monetary), *self._plain, strict=True
            )
        ]
        distances = [
            sum((x - c) ** 2 for x, c in zip(standardized, centre, strict=True))
            for centre in self._plain_centroids
        ]
        order = sorted(range(len(distances)), key=distances.__getitem__)
        failed = {
            segment.name: first_failed_group(segment, features, self.thresholds)
            for segment in self._candidates
        }
        fitting = [
            self.cluster_names[label]
            for label in order
            if failed[base_segment(self.cluster_names[label]).name] is None
        ] or [
            s.name for s in self._fallbacks if failed[s.name] is None or s is RETURNING
        ]
        nearest, name = order[0], fitting[0]
        segment = base_segment(self.cluster_names[nearest])
        broken = failed[segment.name]
        reason = KEPT if broken is None else f"moved: {failed_reason(segment, broken)}"
        return nearest, name, reason

    @cached_property
    def _plain(self) -> tuple[list[float], list[float], list[float]]:
        return self.upper.tolist(), self.mean.tolist(), self.scale.tolist()

    @cached_property
    def _plain_centroids(self) -> list[list[float]]:
        return self.centroids.tolist()

    def unchecked(self, segment_name: str, tenure_given: bool) -> list[str]:
        """The rules of ``segment_name`` that could not be checked without tenure."""
        if tenure_given:
            return []
        return list(self._unchecked_without_tenure[base_segment(segment_name).name])

    @cached_property
    def _unchecked_without_tenure(self) -> dict[str, tuple[str, ...]]:
        return {
            s.name: tuple(unchecked_rules(s, {"tenure"}, self.thresholds))
            for s in (*SEGMENTS, RETURNING)
        }

    def _assign(
        self, rfm: np.ndarray, tenure: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Labels, name codes and reason codes (``Assignment``) of one chunk."""
        features = {
            "recency": rfm[:, 0],
            "frequency": rfm[:, 1],
            "monetary": rfm[:, 2],
            "tenure": tenure,
        }
        order = self.distances(rfm).argsort(axis=1, kind="stable")
        nearest = order[:, 0]
        groups = {
            segment.name: customer_rule_groups(segment, features, self.thresholds)
            for segment in self._candidates
        }
        fits = {name: g.all(axis=1) for name, g in groups.items()}
        cluster_fits = np.column_stack(
            [fits[base_segment(n).name] for n in self.cluster_names]
        )
        ordered_fits = np.take_along_axis(cluster_fits, order, axis=1)
        names = np.take_along_axis(order, ordered_fits.argmax(axis=1)[:, None], 1)
        names = names[:, 0].astype(np.int8)  # the cluster's index: its name's code
        unplaced = ~ordered_fits.any(axis=1)
        for code, segment in enumerate(self._fallbacks, start=len(self.cluster_names)):
            take = unplaced & (fits[segment.name] | (segment is RETURNING))
            names[take] = code  # in order; RETURNING last, unconditionally
            unplaced &= ~take
        reasons = np.zeros(len(rfm), dtype=np.int8)  # KEPT
        for label, name in enumerate(self.cluster_names):
            segment = base_segment(name)
            moved = (nearest == label) & ~ordered_fits[:, 0]
            if moved.any():
                failed = (~groups[segment.name][moved]).argmax(axis=1)
                reasons[moved] = self._reason_codes[segment.name][failed]
        return nearest, names, reasons

    @cached_property
    def _name_table(self) -> tuple[str, ...]:
        """The names ``_assign`` codes: the clusters', then the fallbacks'."""
        return (*self.cluster_names, *(s.name for s in self._fallbacks))

    @cached_property
    def _reason_table(self) -> tuple[str, ...]:
        """``KEPT``, then each reason for leaving a cluster's segment, once."""
        moved = (
            f"moved: {failed_reason(segment, g)}"
            for segment in SEGMENTS
            for g in range(len(segment.customer_rules))
        )
        return tuple(dict.fromkeys((KEPT, *moved)))

    @cached_property
    def _reason_codes(self) -> dict[str, np.ndarray]:
        """Segment -> (groups,) the reason code of breaking each of its groups."""
        code = {reason: i for i, reason in enumerate(self._reason_table)}
        return {
            segment.name: np.array(
                [
                    code[f"moved: {failed_reason(segment, g)}"]
                    for g in range(len(segment.customer_rules))
                ],
                dtype=np.int8,
            )
            for segment in SEGMENTS
        }

    @cached_property
    def _fallbacks(self) -> tuple[Segment, ...]:
        """Segments no cluster carries, in segment order, then the fifth name."""
        carried = {base_segment(n).name for n in self.cluster_names}
        return (*(s for s in SEGMENTS if s.name not in carried), RETURNING)

    @cached_property
    def _candidates(self) -> tuple[Segment, ...]:
        carried = {base_segment(n).name for n in self.cluster_names}
        return (*(s for s in SEGMENTS if s.name in carried), *self._fallbacks)
