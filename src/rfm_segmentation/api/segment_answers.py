"""The answer to a segment request: one definition, for the route and the fast path."""

from __future__ import annotations

from typing import Any

import numpy as np

from .model_store import ServedModel
from .schemas import CustomerRFM


def segment_answer(customer: CustomerRFM, model: ServedModel) -> dict[str, Any]:
    rfm = np.array([[customer["recency"], customer["frequency"], customer["monetary"]]])
    label = int(model.segmenter.predict(rfm)[0])
    return {
        "segment_name": model.release.profile.names[label],
        "cluster_label": label,
        "outside_training_range": bool(model.segmenter.outside_training_range(rfm)[0]),
        "strategy": model.strategies[label],
        "model_version": model.version,
    }
