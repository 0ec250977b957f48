"""Nodes of the clustering pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from rfm_segmentation.segments import base_segment, name_clusters

from .model import (
    FEATURES,
    centroids_in_original_units,
    make_segmentation_pipeline,
    sampled_silhouette,
)


def build_model_input(rfm_features: pd.DataFrame, customer_column: str) -> pd.DataFrame:
    """Customer id and the three model features, checked to be finite and in range."""
    table = rfm_features[[customer_column, *FEATURES]]
    values = table[FEATURES].to_numpy(dtype=float)
    problems = {
        "recency < 0 or not finite": ~np.isfinite(values[:, 0]) | (values[:, 0] < 0),
        "frequency < 1 or not finite": ~np.isfinite(values[:, 1]) | (values[:, 1] < 1),
        "monetary < 0 or not finite": ~np.isfinite(values[:, 2]) | (values[:, 2] < 0),
    }
    found = {rule: int(bad.sum()) for rule, bad in problems.items() if bad.any()}
    if found:
        raise ValueError(f"rfm_features has rows the model cannot use: {found}")
    if len(table) < 2:
        raise ValueError(
            f"rfm_features has {len(table)} customer(s); at least 2 are needed"
        )
    return table.reset_index(drop=True)


def train_segmentation_model(
    model_input: pd.DataFrame, clustering: dict[str, Any]
) -> Pipeline:
    """Fit the log1p -> scale -> K-Means pipeline on the RFM features."""
    model = make_segmentation_pipeline(
        clustering["n_clusters"], clustering["random_state"], clustering["n_init"]
    )
    return model.fit(model_input[FEATURES].to_numpy(dtype=float))


def profile_segments(
    segmentation_model: Pipeline, model_input: pd.DataFrame, clustering: dict[str, Any]
) -> dict[str, Any]:
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
    segments = []
    for label, name in enumerate(names):
        segment = base_segment(name)
        segments.append(
            {
                "cluster_label": label,
                "segment_name": name,
                "description": segment.description,
                "strategy": segment.strategy,
                "centroid": dict(
                    zip(FEATURES, centroids[label].round(2).tolist(), strict=True)
                ),
                "size": int(sizes[label]),
                "share": round(float(sizes[label] / len(labels)), 4),
            }
        )
    return {
        "n_clusters": len(names),
        "n_customers": len(features),
        "silhouette": round(float(silhouette), 4),
        "feature_ranges": {
            feature: {"min": float(column.min()), "max": float(column.max())}
            for feature, column in zip(FEATURES, features.T, strict=True)
        },
        "segments": segments,
    }


def assign_segments(
    segmentation_model: Pipeline,
    segment_profiles: dict[str, Any],
    rfm_features: pd.DataFrame,
) -> pd.DataFrame:
    """Every customer's RFM row with its cluster label and segment name."""
    labels = segmentation_model.predict(rfm_features[FEATURES].to_numpy(dtype=float))
    names = {
        s["cluster_label"]: s["segment_name"] for s in segment_profiles["segments"]
    }
    return rfm_features.assign(
        cluster_label=labels, segment_name=[names[label] for label in labels]
    )
