"""Nodes of the clustering pipeline."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import Pipeline

from rfm_segmentation.assignment import KEPT, Segmenter
from rfm_segmentation.frames import as_lazy, is_spark
from rfm_segmentation.model import (
    FEATURES,
    centroids_in_original_units,
    fit_segmentation_model,
    sample_rows,
    sampled_silhouette,
    segmenter_of,
    upper_bounds_of,
)
from rfm_segmentation.profile import SegmentNaming, SegmentProfile
from rfm_segmentation.segments import (
    ALL_SEGMENTS,
    RETURNING,
    base_segment,
    learn_thresholds,
    name_clusters,
    segment_colour,
    segment_order,
)

logger = logging.getLogger(__name__)
DESCRIPTORS = ["tenure"]  # carried with the model input, not clustered on


# each model feature's rule: at least this, finite and present
LOWEST = {
    "recency < 0 or not finite": ("recency", 0),
    "frequency < 1 or not finite": ("frequency", 1),
    "monetary < 0 or not finite": ("monetary", 0),
}
# what assignment adds to the customer features, as Spark SQL types
ASSIGNED = {
    "cluster_label": "bigint",
    "segment_name": "string",
    "name_reason": "string",
    "is_outlier": "boolean",
}


def build_model_input(rfm_features: Any, clustering: dict[str, Any]) -> pd.DataFrame:
    """Customer id, the three model features (every customer checked to be finite
    and in range) and the descriptors the naming uses. From a Spark DataFrame only
    the customers the model is fitted on cross to the driver: the seeded sample of
    ``clustering.fit_sample_size`` that the default path fits on."""
    counts = as_lazy(rfm_features).select(
        **{
            rule: (
                (nw.col(name) < low)
                | ~nw.col(name).is_finite()
                | nw.col(name).is_null()
            )
            .cast(nw.Int64)
            .sum()
            for rule, (name, low) in LOWEST.items()
        }
    )
    found = {
        rule: int(n)
        for rule, n in zip(LOWEST, counts.collect().row(0), strict=True)
        if n
    }
    if found:
        raise ValueError(f"rfm_features has rows the model cannot use: {found}")
    columns = ["customer_id", *FEATURES, *DESCRIPTORS]
    if is_spark(rfm_features):
        from rfm_segmentation.spark_assignment import fit_sample  # noqa: PLC0415

        return fit_sample(
            rfm_features,
            columns,
            clustering["fit_sample_size"],
            clustering["random_state"],
        )
    return rfm_features[columns].reset_index(drop=True)


def train_segmentation_model(
    model_input: pd.DataFrame, clustering: dict[str, Any]
) -> Pipeline:
    """Fit the clip -> log1p -> scale -> K-Means pipeline on the RFM features (on a
    seeded sample of ``clustering.fit_sample_size`` customers when there are more)."""
    values = model_input[FEATURES].to_numpy(dtype=float)
    require_enough_customers(values, clustering["n_clusters"])
    return fit_segmentation_model(values, clustering)


def require_enough_customers(values: np.ndarray, n_clusters: int) -> None:
    """One sentence, with the fix, when k segments cannot be told apart."""
    distinct = np.unique(values[: 10 * n_clusters + 1_000], axis=0)
    if len(distinct) >= n_clusters:
        return
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
    resamples of the customers: the adjusted Rand index, and per cluster the best
    Jaccard overlap with a cluster of the refit (1: unchanged). Measured on a seeded
    sample of ``clustering.evaluation_sample_size`` customers when there are more."""
    values = model_input[FEATURES].to_numpy(dtype=float)
    values = values[
        sample_rows(
            len(values),
            clustering["evaluation_sample_size"],
            clustering["random_state"],
        )
    ]
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


def name_segments(
    segmentation_model: Pipeline, model_input: pd.DataFrame, naming: dict[str, Any]
) -> SegmentNaming:
    """Each cluster's name from its centre (``name_clusters``), the per-customer
    thresholds learned from the training population, and the training ranges."""
    features = model_input[FEATURES].to_numpy(dtype=float)
    tenure = model_input["tenure"].to_numpy(dtype=float)
    labels = segmentation_model.predict(features)
    k = segmentation_model.named_steps["kmeans"].n_clusters
    population_tenure_median = float(np.median(tenure))
    result = name_clusters(
        centroids_in_original_units(segmentation_model),
        segmentation_model.named_steps["kmeans"].cluster_centers_,
        tenure_medians=pd.Series(tenure)
        .groupby(labels)
        .median()
        .reindex(range(k))
        .to_numpy(),
        population_tenure_median=population_tenure_median,
        new_max_tenure_ratio=naming["new_max_tenure_ratio"],
        tie_tolerance=naming["tie_tolerance"],
    )
    for name in result.unfilled:
        logger.warning(
            "No cluster meets the rules of %r: the name is unfilled "
            "(docs/segments.md says what to try)",
            name,
        )
    columns = {name: model_input[name].to_numpy(dtype=float) for name in FEATURES}
    return SegmentNaming(
        cluster_names=result.names,
        unfilled_segments=result.unfilled,
        rules=[vars(check) for check in result.checks],
        customer_quantiles=naming["customer_quantiles"],
        thresholds=learn_thresholds(
            {**columns, "tenure": tenure},
            naming["customer_quantiles"],
            naming["new_max_tenure_ratio"],
        ),
        feature_ranges={
            name: {"min": float(column.min()), "max": float(column.max())}
            for name, column in columns.items()
        },
        population_tenure_median=population_tenure_median,
    )


def assign_segments(
    segmentation_model: Pipeline,
    segment_naming: SegmentNaming,
    rfm_features: Any,
    naming: dict[str, Any],
) -> Any:
    """Every customer's features with their cluster (K-Means), final segment name
    and why (``Segmenter.assign``), and whether a feature lies beyond the model's
    outlier bounds. A Spark DataFrame is assigned on the executors, batch by batch,
    and stays one. Warns when many customers leave their cluster's name."""
    assign = partial(
        assigned_table,
        segmenter_of(segmentation_model, segment_naming),
        upper_bounds_of(segmentation_model),
    )
    if is_spark(rfm_features):
        from rfm_segmentation.spark_assignment import (  # noqa: PLC0415
            assign_on_executors,
        )

        table = assign_on_executors(rfm_features, assign, ASSIGNED, assigned_order)
    else:
        table = assign(rfm_features)
    shares = (
        as_lazy(table)
        .select(
            moved=(nw.col("name_reason") != KEPT).cast(nw.Float64).mean(),
            fifth=(nw.col("segment_name") == RETURNING.name).cast(nw.Float64).mean(),
        )
        .collect()
        .row(0)
    )
    moved, fifth = (float(share) for share in shares)
    if max(moved, fifth) > naming["warn_moved_share"]:
        logger.warning(
            "%.1f%% of customers contradict their cluster's name and moved to another "
            "segment (%.1f%% to %r): the clusters fit this shop's customers loosely "
            "(docs/segments.md, 'Names for single customers').",
            100 * moved,
            100 * fifth,
            RETURNING.name,
        )
    return table


def assigned_order(columns: list[str]) -> list[str]:
    """The assigned table's columns: the features' up to tenure, the assignment's,
    the rest of the features', ``is_outlier``."""
    position = columns.index("tenure")
    labels = ["cluster_label", "segment_name", "name_reason"]
    return [*columns[:position], *labels, *columns[position:], "is_outlier"]


def assigned_table(
    segmenter: Segmenter, upper_bounds: np.ndarray, rfm_features: pd.DataFrame
) -> pd.DataFrame:
    """``rfm_features`` (pandas: all customers, or one batch) with their assignment."""
    values = rfm_features[FEATURES].to_numpy(dtype=float)
    assigned = segmenter.assign(values, rfm_features["tenure"].to_numpy(dtype=float))
    table = rfm_features.assign(
        cluster_label=assigned.labels,
        segment_name=assigned.names,
        name_reason=assigned.reasons,
        is_outlier=(values > upper_bounds).any(axis=1),
    )
    return table[assigned_order(list(rfm_features.columns))]


def profile_segments(
    segmentation_model: Pipeline,
    segment_naming: SegmentNaming,
    customer_segments: pd.DataFrame,
    segment_stability: pd.DataFrame,
    clustering: dict[str, Any],
    currency: str,
) -> SegmentProfile:
    """What the fitted model means: each cluster's centre in original units and
    name; each segment's customers, means, tenure and revenue; how well the names
    fit single customers; the model's quality, outliers and stability."""
    features = customer_segments[FEATURES].to_numpy(dtype=float)
    labels = customer_segments["cluster_label"].to_numpy()
    k = segmentation_model.named_steps["kmeans"].n_clusters
    centroids = centroids_in_original_units(segmentation_model)
    sizes = np.bincount(labels, minlength=k)
    tenure = customer_segments["tenure"].to_numpy(dtype=float)
    bounds = upper_bounds_of(segmentation_model)
    by_run = segment_stability.groupby("run")["ari"].mean()
    reasons = customer_segments["name_reason"]
    return SegmentProfile(
        as_of=customer_segments["as_of"].iloc[0],
        currency=currency,
        n_clusters=k,
        n_customers=len(features),
        n_fitted=min(len(features), clustering["fit_sample_size"]),
        silhouette=round(
            sampled_silhouette(
                segmentation_model,
                features,
                labels,
                clustering["silhouette_sample_size"],
                clustering["random_state"],
            ),
            4,
        ),
        naming=segment_naming,
        customer_fit={
            "kept_share": round(float((reasons == KEPT).mean()), 4),
            "moved": reasons[reasons != KEPT].value_counts().sort_index().to_dict(),
            "fifth_name": int(
                (customer_segments["segment_name"] == RETURNING.name).sum()
            ),
        },
        clusters=[
            {
                "cluster_label": label,
                "segment_name": name,
                "centroid": dict(
                    zip(FEATURES, centroids[label].round(2).tolist(), strict=True)
                ),
                "size": int(sizes[label]),
                "tenure_median": float(np.median(tenure[labels == label]))
                if sizes[label]
                else 0.0,
            }
            for label, name in enumerate(segment_naming.cluster_names)
        ],
        segments=segment_summaries(customer_segments, segment_naming),
        outliers={
            **clustering["outliers"],
            "bounds": dict(zip(FEATURES, bounds.round(2).tolist(), strict=True)),
            "count": int(customer_segments["is_outlier"].sum()),
        },
        stability={
            "seeds_ari": round(float(by_run.get("seed", 1.0)), 4),
            "bootstrap_ari": round(float(by_run.get("bootstrap", 1.0)), 4),
            "runs": len(segment_stability),
        },
    )


def segment_summaries(
    customer_segments: pd.DataFrame, segment_naming: SegmentNaming
) -> list[dict[str, Any]]:
    """Every segment name (the five, and the clusters' numbered ones): its customers,
    means, tenure and revenue; names without customers have zeros."""
    grouped = customer_segments.groupby("segment_name", sort=False)
    means, medians = grouped[FEATURES].mean(), grouped[FEATURES].median()
    tenure = grouped["tenure"].agg(["mean", "median"])
    outliers = grouped["is_outlier"].sum()
    moved_in = (
        (customer_segments["name_reason"] != KEPT)
        .groupby(customer_segments["segment_name"], sort=False)
        .sum()
    )
    revenue = grouped["monetary"].sum()
    counts = grouped.size()
    total = float(customer_segments["monetary"].sum())
    names = segment_order(
        {
            *counts.index,
            *segment_naming.cluster_names,
            *(segment.name for segment in ALL_SEGMENTS),
        }
    )
    summaries = []
    for name in names:
        segment, n = base_segment(name), int(counts.get(name, 0))
        spend = float(revenue.get(name, 0.0))
        summaries.append(
            {
                "segment_name": name,
                "description": segment.description,
                "strategy": segment.strategy,
                "colour": segment_colour(name),
                "customers": n,
                "share": round(n / len(customer_segments), 4),
                "mean": means.loc[name].round(2).to_dict() if n else None,
                "median": medians.loc[name].round(2).to_dict() if n else None,
                "tenure": tenure.loc[name].round(2).to_dict() if n else None,
                "revenue": {
                    "total": round(spend, 2),
                    "share": round(spend / total, 4) if total else 0.0,
                    "per_customer": round(spend / n, 2) if n else 0.0,
                },
                "outliers": int(outliers.get(name, 0)),
                "moved_in": int(moved_in.get(name, 0)),
                "unfilled": name in segment_naming.unfilled_segments,
            }
        )
    return summaries
