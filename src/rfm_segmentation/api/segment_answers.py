"""Answers to segment requests: one definition for the route and the batch, through
the release's one assignment (``Segmenter.assign``, or ``assign_one``, its equal in
plain Python, for a single customer: most requests)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rfm_segmentation.assignment import Segmenter
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
    labels, names, reasons = _assigned(segmenter, rfm, tenure, known)
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


def _assigned(
    segmenter: Segmenter, rfm: np.ndarray, tenure: np.ndarray, known: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each customer's cluster, name and reason, with its tenure where ``known``."""
    if len(rfm) == 1:
        one = segmenter.assign_one(*rfm[0].tolist(), tenure[0] if known[0] else None)
        return tuple(np.array([value], dtype=object) for value in one)
    labels = np.empty(len(rfm), dtype=np.int64)
    names = np.empty(len(rfm), dtype=object)
    reasons = np.empty(len(rfm), dtype=object)
    for given in (True, False):
        rows = known if given else ~known
        if rows.any():
            done = segmenter.assign(rfm[rows], tenure[rows] if given else None)
            labels[rows], names[rows], reasons[rows] = (
                done.labels,
                done.names,
                done.reasons,
            )
    return labels, names, reasons


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
