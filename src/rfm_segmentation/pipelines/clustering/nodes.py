"""Nodes of the clustering pipeline."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import Pipeline

from rfm_segmentation.model import (
    FEATURES,
    centroids_in_original_units,
    fit_segmentation_model,
    sampled_silhouette,
    upper_bounds_of,
)
from rfm_segmentation.profile import SegmentProfile
from rfm_segmentation.release import ReleaseContent
from rfm_segmentation.segments import base_segment, name_clusters

logger = logging.getLogger(__name__)
DESCRIPTORS = ["tenure"]  # carried with the model input, not clustered on


def build_model_input(rfm_features: pd.DataFrame) -> pd.DataFrame:
    """Customer id, the three model features (checked to be finite and in range) and
    the descriptors the segment profile reports."""
    table = rfm_features[["customer_id", *FEATURES, *DESCRIPTORS]]
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
    """Fit the clip -> log1p -> scale -> K-Means pipeline on the RFM features."""
    values = model_input[FEATURES].to_numpy(dtype=float)
    require_enough_customers(values, clustering["n_clusters"])
    return fit_segmentation_model(values, clustering)


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


def measure_stability(
    segmentation_model: Pipeline,
    model_input: pd.DataFrame,
    clustering: dict[str, Any],
    stability: dict[str, Any],
) -> pd.DataFrame:
    """Agreement of the segmentation with refits under other seeds and on bootstrap
    resamples of the customers: the adjusted Rand index over all customers, and per
    cluster the best Jaccard overlap with a cluster of the refit (1: unchanged)."""
    values = model_input[FEATURES].to_numpy(dtype=float)
    reference = segmentation_model.predict(values)
    rng = np.random.default_rng(clustering["random_state"])
    runs = [("seed", i, values) for i in range(1, stability["seeds"] + 1)] + [
        ("bootstrap", i, values[rng.integers(0, len(values), len(values))])
        for i in range(1, stability["bootstrap"] + 1)
    ]
    rows = []
    for kind, number, sample in runs:
        seed = clustering["random_state"] + (number if kind == "seed" else 0)
        refit = fit_segmentation_model(sample, clustering, random_state=seed)
        labels = refit.predict(values)
        rows.append(
            {
                "run": kind,
                "number": number,
                "ari": round(adjusted_rand_score(reference, labels), 4),
                **{
                    f"jaccard_{label}": round(
                        _best_jaccard(reference == label, labels), 4
                    )
                    for label in range(int(reference.max()) + 1)
                },
            }
        )
    return pd.DataFrame(rows)


def _best_jaccard(members: np.ndarray, labels: np.ndarray) -> float:
    overlaps = [
        (members & (labels == label)).sum() / (members | (labels == label)).sum()
        for label in np.unique(labels)
    ]
    return float(max(overlaps))


def profile_segments(
    segmentation_model: Pipeline,
    model_input: pd.DataFrame,
    segment_stability: pd.DataFrame,
    clustering: dict[str, Any],
    naming: dict[str, Any],
) -> SegmentProfile:
    """What the fitted model means: a named segment per cluster with its centroid in
    original units, size, tenure and strategy; how well the names fit; the model's
    quality, outliers, stability and training ranges."""
    features = model_input[FEATURES].to_numpy(dtype=float)
    tenure = model_input["tenure"].to_numpy(dtype=float)
    labels = segmentation_model.predict(features)
    k = segmentation_model.named_steps["kmeans"].n_clusters
    tenure_by_label = pd.Series(tenure).groupby(labels)
    result = name_clusters(
        centroids_in_original_units(segmentation_model),
        segmentation_model.named_steps["kmeans"].cluster_centers_,
        tenure_medians=tenure_by_label.median().reindex(range(k)).to_numpy(),
        population_tenure_median=float(np.median(tenure)),
        **naming,
    )
    for name in result.unfilled:
        logger.warning(
            "No cluster meets the rules of %r: the name is unfilled "
            "(docs/segments.md says what to try)",
            name,
        )
    centroids = centroids_in_original_units(segmentation_model)
    sizes = np.bincount(labels, minlength=k)
    bounds = upper_bounds_of(segmentation_model)
    silhouette = sampled_silhouette(
        segmentation_model,
        features,
        labels,
        clustering["silhouette_sample_size"],
        clustering["random_state"],
    )
    by_run = segment_stability.groupby("run")["ari"].mean()
    return SegmentProfile(
        n_clusters=k,
        n_customers=len(features),
        silhouette=round(silhouette, 4),
        feature_ranges={
            feature: {"min": float(column.min()), "max": float(column.max())}
            for feature, column in zip(FEATURES, features.T, strict=True)
        },
        population_tenure_median=float(np.median(tenure)),
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
                "tenure": {
                    "mean": round(float(tenure[labels == label].mean()), 2),
                    "median": float(np.median(tenure[labels == label])),
                },
            }
            for label, name in enumerate(result.names)
        ],
        naming={
            "unfilled_segments": result.unfilled,
            "rules": [vars(check) for check in result.checks],
        },
        outliers={
            **clustering["outliers"],
            "bounds": dict(zip(FEATURES, bounds.round(2).tolist(), strict=True)),
            "count": int((features > bounds).any(axis=1).sum()),
        },
        stability={
            "seeds_ari": round(float(by_run.get("seed", 1.0)), 4),
            "bootstrap_ari": round(float(by_run.get("bootstrap", 1.0)), 4),
            "runs": len(segment_stability),
        },
    )


def assign_segments(
    segmentation_model: Pipeline,
    segment_profile: SegmentProfile,
    rfm_features: pd.DataFrame,
) -> pd.DataFrame:
    """Every customer's features with their cluster label, segment name and whether
    a feature lies beyond the model's outlier bounds (clipped for the fit)."""
    values = rfm_features[FEATURES].to_numpy(dtype=float)
    labels = segmentation_model.predict(values)
    table = rfm_features.drop(columns=DESCRIPTORS).assign(
        cluster_label=labels,
        segment_name=np.asarray(segment_profile.names, dtype=object)[labels],
    )
    return table.assign(
        **{d: rfm_features[d] for d in DESCRIPTORS},
        is_outlier=(values > upper_bounds_of(segmentation_model)).any(axis=1),
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
