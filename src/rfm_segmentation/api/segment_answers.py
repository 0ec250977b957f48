"""Answers to segment requests: one definition, for the route, the batch and the fast
path, all through the release's one assignment (``Segmenter.assign``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rfm_segmentation.release import Release
from rfm_segmentation.segments import base_segment

from .schemas import CustomerRFM


def assignments(
    customers: Sequence[CustomerRFM], release: Release
) -> list[dict[str, Any]]:
    """Each customer's segment, cluster, reason, range flag, unchecked rules and
    P(alive), in order. Customers sent with a tenure are assigned with it, the others
    without (and have no P(alive): the model needs the tenure)."""
    rfm = np.array(
        [(c["recency"], c["frequency"], c["monetary"]) for c in customers], dtype=float
    )
    tenure = np.array([c.get("tenure", np.nan) for c in customers], dtype=float)
    known = ~np.isnan(tenure)
    segmenter = release.segmenter
    names = np.empty(len(rfm), dtype=object)
    labels = np.empty(len(rfm), dtype=np.int64)
    reasons = np.empty(len(rfm), dtype=object)
    for given in (True, False):
        rows = known if given else ~known
        if rows.any():
            done = segmenter.assign(rfm[rows], tenure[rows] if given else None)
            names[rows], labels[rows], reasons[rows] = (
                done.names,
                done.labels,
                done.reasons,
            )
    outside = segmenter.outside_training_range(rfm)
    alive = _p_alive(rfm, tenure, known, release)
    return [
        {
            "segment_name": name,
            "cluster_label": label,
            "name_reason": reason,
            "outside_training_range": out,
            "unchecked_rules": segmenter.unchecked(name, tenure_given=given),
            "p_alive": None if np.isnan(p) else round(p, 4),
        }
        for name, label, reason, out, given, p in zip(
            names.tolist(),
            labels.tolist(),
            reasons.tolist(),
            outside.tolist(),
            known.tolist(),
            alive.tolist(),
            strict=True,
        )
    ]


def _p_alive(
    rfm: np.ndarray, tenure: np.ndarray, known: np.ndarray, release: Release
) -> np.ndarray:
    """P(alive) by the release's BG/NBD fit where tenure is given, else nan."""
    alive = np.full(len(rfm), np.nan)
    model = release.profile.customer_value
    if model is not None and known.any():
        alive[known] = model.p_alive(rfm[known, 0], rfm[known, 1], tenure[known])
    return alive


def segment_answer(customer: CustomerRFM, release: Release) -> dict[str, Any]:
    (answer,) = assignments([customer], release)
    return {
        **answer,
        "strategy": base_segment(answer["segment_name"]).strategy,
        "model_version": release.version,
        "as_of": release.profile.as_of,
    }
