"""The segmentation model: clip outliers -> log1p -> standard scaling -> K-Means, as
one Pipeline, so that what was fitted is exactly what is applied; and ``Segmenter``,
the same fitted pipeline reduced to arithmetic for the request path.

The clustering pipeline and the API both depend on this module, not on each other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

FEATURES = ["recency", "frequency", "monetary"]
STEPS = ("clip", "log1p", "scale", "kmeans")


def outlier_bounds(
    values: np.ndarray, quantile: float, log_iqr_fence: float | None
) -> np.ndarray:
    """(3,) upper bound per feature: its ``quantile``, or the far-out fence
    ``Q3 + log_iqr_fence * IQR`` of its log1p values where that is lower (the fence
    catches a few extreme customers that a quantile of a small shop cannot)."""
    bounds = np.quantile(values, quantile, axis=0)
    if log_iqr_fence is not None:
        q1, q3 = np.quantile(np.log1p(values), [0.25, 0.75], axis=0)
        bounds = np.minimum(bounds, np.expm1(q3 + log_iqr_fence * (q3 - q1)))
    return np.maximum(bounds, values.min(axis=0))


def make_segmentation_pipeline(
    n_clusters: int, random_state: int, n_init: int, upper_bounds: np.ndarray
) -> Pipeline:
    """An unfitted segmentation model; features are clipped at ``upper_bounds``."""
    if n_clusters < 2:
        raise ValueError(f"n_clusters must be at least 2, got {n_clusters}")
    return Pipeline(
        [
            (
                "clip",
                FunctionTransformer(
                    np.clip,
                    kw_args={"a_min": None, "a_max": np.asarray(upper_bounds, float)},
                    validate=True,
                ),
            ),
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


def fit_segmentation_model(
    values: np.ndarray, clustering: Mapping[str, Any], **overrides: Any
) -> Pipeline:
    """Fit the segmentation model on (n, 3) RFM values with the ``clustering``
    parameters (``overrides`` replace some, e.g. another ``random_state``)."""
    settings = {**clustering, **overrides}
    outliers = settings["outliers"]
    bounds = outlier_bounds(values, outliers["quantile"], outliers["log_iqr_fence"])
    model = make_segmentation_pipeline(
        settings["n_clusters"], settings["random_state"], settings["n_init"], bounds
    )
    return model.fit(values)


def upper_bounds_of(model: Pipeline) -> np.ndarray:
    """Where a fitted model clips each feature."""
    return model.named_steps["clip"].kw_args["a_max"]


def n_clusters_of(model: Pipeline) -> int:
    """k of a fitted segmentation model; ValueError if it is not one."""
    if not isinstance(model, Pipeline) or tuple(model.named_steps) != STEPS:
        raise ValueError(f"not a segmentation Pipeline with steps {STEPS}")
    return int(model.named_steps["kmeans"].cluster_centers_.shape[0])


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


@dataclass(frozen=True)
class Segmenter:
    """A fitted segmentation Pipeline as plain arithmetic.

    ``Pipeline.predict`` costs about 210 us per call in scikit-learn overhead. The
    fitted pipeline is equivalent to: its clip and log1p steps' functions, the
    scaler's mean and scale, then the nearest centroid. Those are read from the fitted pipeline once;
    ``tests/test_model.py`` checks the labels equal ``Pipeline.predict``.
    """

    clip: Callable[[np.ndarray], np.ndarray]  # the pipeline's clip, with its bounds
    transform: Callable[[np.ndarray], np.ndarray]  # the pipeline's log1p function
    mean: np.ndarray  # (3,) StandardScaler.mean_
    scale: np.ndarray  # (3,) StandardScaler.scale_
    centroids: np.ndarray  # (k, 3) KMeans.cluster_centers_ in standardized space
    low: np.ndarray  # (3,) training minimum per feature
    high: np.ndarray  # (3,) training maximum per feature

    @classmethod
    def from_model(
        cls, model: Pipeline, low: np.ndarray, high: np.ndarray
    ) -> Segmenter:
        n_clusters_of(model)
        clip, log1p = model.named_steps["clip"], model.named_steps["log1p"]
        scaler = model.named_steps["scale"]
        return cls(
            clip=functools.partial(clip.func, **clip.kw_args),
            transform=log1p.func,
            mean=scaler.mean_.copy(),
            scale=scaler.scale_.copy(),
            centroids=model.named_steps["kmeans"].cluster_centers_.copy(),
            low=np.asarray(low, dtype=float),
            high=np.asarray(high, dtype=float),
        )

    def predict(self, rfm: np.ndarray) -> np.ndarray:
        """Cluster labels for an (n, 3) array of recency, frequency, monetary."""
        standardized = (self.transform(self.clip(rfm)) - self.mean) / self.scale
        distances = ((standardized[:, None, :] - self.centroids[None, :, :]) ** 2).sum(
            axis=2
        )
        return distances.argmin(axis=1)

    def outside_training_range(self, rfm: np.ndarray) -> np.ndarray:
        """(n,) True where any feature lies outside what the model was trained on."""
        return ((rfm < self.low) | (rfm > self.high)).any(axis=1)

    def assign_one(self, rfm: tuple[float, float, float]) -> tuple[int, bool]:
        """``predict`` and ``outside_training_range`` of one customer in plain floats
        (on one row, numpy's per-call overhead is most of the cost): the same
        operations in the same order, so the same label."""
        upper, mean, scale, centroids, low, high = self._as_floats
        point = [
            (float(self.transform(min(value, bound))) - centre) / spread
            for value, bound, centre, spread in zip(
                rfm, upper, mean, scale, strict=True
            )
        ]
        distances = [
            sum((p - c) ** 2 for p, c in zip(point, centroid, strict=True))
            for centroid in centroids
        ]
        label = distances.index(min(distances))
        outside = any(
            not lo <= value <= hi for value, lo, hi in zip(rfm, low, high, strict=True)
        )
        return label, outside

    @functools.cached_property
    def _as_floats(self) -> tuple:
        upper = self.clip(np.full((1, 3), np.inf))[0]  # where the pipeline clips
        return (
            tuple(upper.tolist()),
            tuple(self.mean.tolist()),
            tuple(self.scale.tolist()),
            tuple(tuple(row) for row in self.centroids.tolist()),
            tuple(self.low.tolist()),
            tuple(self.high.tolist()),
        )
