"""The answer to a segment request: one definition, for the route and the fast path."""

from __future__ import annotations

from typing import Any

from .model_store import ServedModel
from .schemas import CustomerRFM


def segment_answer(customer: CustomerRFM, model: ServedModel) -> dict[str, Any]:
    label, outside = model.segmenter.assign_one(
        (customer["recency"], customer["frequency"], customer["monetary"])
    )
    return {
        "segment_name": model.release.profile.names[label],
        "cluster_label": label,
        "outside_training_range": outside,
        "strategy": model.strategies[label],
        "model_version": model.version,
    }
