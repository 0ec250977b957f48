"""Tables of the reporting pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rfm_segmentation.model import FEATURES, fit_segmentation_model, sampled_silhouette
from rfm_segmentation.segments import SEGMENT_NAMES, base_segment, segment_order


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
        model = fit_segmentation_model(features, clustering, n_clusters=k)
        labels = model.predict(features)
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
    """Per segment: customers, share, mean and median R/F/M and tenure, revenue share
    and outliers; a segment name no cluster meets the rules of has a row of its own,
    with no customers and ``unfilled`` true."""
    grouped = customer_segments.groupby("segment_name")
    summary = grouped[[*FEATURES, "tenure"]].agg(["mean", "median"])
    summary.columns = [f"{feature}_{stat}" for feature, stat in summary.columns]
    summary.insert(0, "customers", grouped.size())
    summary.insert(1, "share", summary["customers"] / len(customer_segments))
    summary["revenue_share"] = (
        grouped["monetary"].sum() / customer_segments["monetary"].sum()
    )
    summary["outliers"] = grouped["is_outlier"].sum()
    summary["unfilled"] = False
    filled = {base_segment(name).name for name in summary.index}
    for name in unfilled_segments(filled):
        summary.loc[name] = {
            "customers": 0,
            "share": 0.0,
            "outliers": 0,
            "unfilled": True,
        }
    summary = summary.loc[segment_order(summary.index)]
    return summary.astype({"customers": int, "outliers": int}).round(4).reset_index()


def unfilled_segments(names: set[str]) -> list[str]:
    """The segment names none of ``names`` carries."""
    return [name for name in SEGMENT_NAMES if name not in names]


def stability_by_segment(
    segment_stability: pd.DataFrame, customer_segments: pd.DataFrame
) -> pd.DataFrame:
    """Long table: per run, the overall adjusted Rand index and each segment's best
    Jaccard overlap, labelled with segment names."""
    names = customer_segments.groupby("cluster_label")["segment_name"].first()
    long = segment_stability.melt(
        id_vars=["run", "number"], var_name="measure", value_name="agreement"
    )
    long["segment_name"] = [
        "overall (ARI)"
        if measure == "ari"
        else names.get(int(measure.removeprefix("jaccard_")), measure)
        for measure in long["measure"]
    ]
    return long.drop(columns="measure")
