"""The segmentation model: log1p -> standard scaling -> K-Means, as one Pipeline,
so that what was fitted is exactly what is applied when serving."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

FEATURES = ["recency", "frequency", "monetary"]


def make_segmentation_pipeline(
    n_clusters: int, random_state: int, n_init: int
) -> Pipeline:
    """An unfitted segmentation model."""
    if n_clusters < 2:
        raise ValueError(f"n_clusters must be at least 2, got {n_clusters}")
    return Pipeline(
        [
            (
                "log1p",
                FunctionTransformer(np.log1p, inverse_func=np.expm1, validate=True),
            ),
            ("scale", StandardScaler()),
            (
                "kmeans",
                KMeans(n_clusters=n_clusters, random_state=random_state, n_init=n_init),
            ),
        ]
    )


def centroids_in_original_units(model: Pipeline) -> np.ndarray:
    """Cluster centres mapped back through scaling and log1p: days, purchases, money."""
    standardized = model.named_steps["kmeans"].cluster_centers_
    return model.named_steps["log1p"].inverse_transform(
        model.named_steps["scale"].inverse_transform(standardized)
    )


def sampled_silhouette(
    model: Pipeline,
    features: np.ndarray,
    labels: np.ndarray,
    sample_size: int,
    seed: int,
) -> float:
    """Silhouette of a fitted model's clusters, on a seeded sample of customers.

    The full silhouette is quadratic in the number of customers; a sample keeps it
    fast at a million customers.
    """
    return float(
        silhouette_score(
            model[:-1].transform(features),
            labels,
            sample_size=min(len(features), sample_size),
            random_state=seed,
        )
    )
