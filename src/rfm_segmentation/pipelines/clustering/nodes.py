"""Nodes of the clustering pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from rfm_segmentation.model import (
    FEATURES,
    centroids_in_original_units,
    make_segmentation_pipeline,
    sampled_silhouette,
)
from rfm_segmentation.profile import SegmentProfile
from rfm_segmentation.release import ReleaseContent
from rfm_segmentation.segments import base_segment, name_clusters


def build_model_input(rfm_features: pd.DataFrame) -> pd.DataFrame:
    """Customer id and the three model features, checked to be finite and in range."""
    table = rfm_features[["customer_id", *FEATURES]]
    values = table[FEATURES].to_numpy(dtype=float)
    problems = {
        "recency < 0 or not finite": ~np.isfinite(values[:, 0]) | (values[:, 0] < 0),
        "frequency < 1 or not finite": ~np.isfinite(values[:, 1]) | (values[:, 1] < 1),
        "monetary < 0 or not finite": ~np.isfinite(values[:, 2]) | (values[:, 2] < 0),
    }
    found = {rule: int(bad.sum()) for rule, bad in problems.items() if bad.any()}
    if found:
        raise ValueError(f"rfm_features has rows the model cannot use: {found}")
    return table.reset_index(drop=True)


def train_segmentation_model(
    model_input: pd.DataFrame, clustering: dict[str, Any]
) -> Pipeline:
    """Fit the log1p -> scale -> K-Means pipeline on the RFM features."""
    values = model_input[FEATURES].to_numpy(dtype=float)
    require_enough_customers(values, clustering["n_clusters"])
    model = make_segmentation_pipeline(
        clustering["n_clusters"], clustering["random_state"], clustering["n_init"]
    )
    return model.fit(values)


def require_enough_customers(values: np.ndarray, n_clusters: int) -> None:
    """One sentence, with the fix, when k segments cannot be told apart."""
    distinct = np.unique(values, axis=0)
    if len(distinct) == 1:
        recency, frequency, monetary = distinct[0]
        raise ValueError(
            f"All {len(values):,} customer(s) have the same recency ({recency:g}), "
            f"frequency ({frequency:g}) and monetary ({monetary:g}): there is nothing "
            "to segment. Check data/08_reporting/cleaning_report.json, the column "
            "mapping and `rfm.snapshot_date`."
        )
    if len(distinct) < n_clusters:
        raise ValueError(
            f"{len(values):,} customer(s) with {len(distinct)} distinct (recency, "
            f"frequency, monetary) values cannot form clustering.n_clusters = "
            f"{n_clusters} segments: lower it (kedro run --params "
            f"clustering.n_clusters={len(distinct)}) or use a longer history."
        )


def profile_segments(
    segmentation_model: Pipeline, model_input: pd.DataFrame, clustering: dict[str, Any]
) -> SegmentProfile:
    """What the fitted model means: a named segment per cluster with its centroid in
    original units, size and strategy, plus the model's quality and training ranges."""
    features = model_input[FEATURES].to_numpy(dtype=float)
    labels = segmentation_model.predict(features)
    names = name_clusters(segmentation_model.named_steps["kmeans"].cluster_centers_)
    centroids = centroids_in_original_units(segmentation_model)
    sizes = np.bincount(labels, minlength=len(names))
    silhouette = sampled_silhouette(
        segmentation_model,
        features,
        labels,
        clustering["silhouette_sample_size"],
        clustering["random_state"],
    )
    return SegmentProfile(
        n_clusters=len(names),
        n_customers=len(features),
        silhouette=round(silhouette, 4),
        feature_ranges={
            feature: {"min": float(column.min()), "max": float(column.max())}
            for feature, column in zip(FEATURES, features.T, strict=True)
        },
        segments=[
            {
                "cluster_label": label,
                "segment_name": name,
                "description": base_segment(name).description,
                "strategy": base_segment(name).strategy,
                "centroid": dict(
                    zip(FEATURES, centroids[label].round(2).tolist(), strict=True)
                ),
                "size": int(sizes[label]),
                "share": round(float(sizes[label] / len(labels)), 4),
            }
            for label, name in enumerate(names)
        ],
    )


def assign_segments(
    segmentation_model: Pipeline,
    segment_profile: SegmentProfile,
    rfm_features: pd.DataFrame,
) -> pd.DataFrame:
    """Every customer's RFM row with its cluster label and segment name."""
    labels = segmentation_model.predict(rfm_features[FEATURES].to_numpy(dtype=float))
    return rfm_features.assign(
        cluster_label=labels,
        segment_name=np.asarray(segment_profile.names, dtype=object)[labels],
    )


def publish_release(
    segmentation_model: Pipeline,
    segment_profile: SegmentProfile,
    customer_segments: pd.DataFrame,
) -> ReleaseContent:
    """The model, its profile and the customer table, to be published as one release."""
    return ReleaseContent(segmentation_model, segment_profile, customer_segments)


def export_customer_segments(
    customer_segments: pd.DataFrame, customer_column: str
) -> pd.DataFrame:
    """The customer table for people, its id column named as in the source file."""
    return customer_segments.rename(columns={"customer_id": customer_column})
