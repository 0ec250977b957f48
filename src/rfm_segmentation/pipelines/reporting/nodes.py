"""Tables of the reporting pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rfm_segmentation.model import (
    FEATURES,
    make_segmentation_pipeline,
    sampled_silhouette,
)
from rfm_segmentation.segments import segment_order


def evaluate_k_range(
    model_input: pd.DataFrame, k_selection: dict[str, Any], clustering: dict[str, Any]
) -> pd.DataFrame:
    """Inertia and silhouette of the segmentation model for each k in the range.

    Silhouette is computed on a seeded sample so it stays fast at a million customers.
    """
    features = model_input[FEATURES].to_numpy(dtype=float)
    k_max = min(k_selection["k_max"], len(np.unique(features, axis=0)) - 1)
    rows = []
    for k in range(k_selection["k_min"], k_max + 1):
        model = make_segmentation_pipeline(
            k, clustering["random_state"], clustering["n_init"]
        )
        labels = model.fit_predict(features)
        silhouette = sampled_silhouette(
            model,
            features,
            labels,
            clustering["silhouette_sample_size"],
            clustering["random_state"],
        )
        rows.append(
            {
                "k": k,
                "inertia": round(float(model.named_steps["kmeans"].inertia_), 4),
                "silhouette": round(float(silhouette), 4),
            }
        )
    return pd.DataFrame(rows)


def summarise_segments(customer_segments: pd.DataFrame) -> pd.DataFrame:
    """Customers, share, mean and median R/F/M and revenue share per segment."""
    grouped = customer_segments.groupby("segment_name")
    summary = grouped[FEATURES].agg(["mean", "median"])
    summary.columns = [f"{feature}_{stat}" for feature, stat in summary.columns]
    summary.insert(0, "customers", grouped.size())
    summary.insert(1, "share", summary["customers"] / len(customer_segments))
    summary["revenue_share"] = (
        grouped["monetary"].sum() / customer_segments["monetary"].sum()
    )
    summary = summary.loc[segment_order(summary.index)]
    return summary.round(4).reset_index()
