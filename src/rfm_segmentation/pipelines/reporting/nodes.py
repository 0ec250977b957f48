"""Tables of the reporting pipeline."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from rfm_segmentation.model import (
    FEATURES,
    fit_segmentation_model,
    sample_rows,
    sampled_silhouette,
)
from rfm_segmentation.pipelines.data_processing.schema import passthrough_columns
from rfm_segmentation.profile import SegmentInfo, SegmentProfile, SegmentValue
from rfm_segmentation.segments import segment_slug


def evaluate_k_range(
    model_input: pd.DataFrame, k_selection: dict[str, Any], clustering: dict[str, Any]
) -> pd.DataFrame:
    """Inertia and silhouette of the segmentation model for each k in the range, on
    a seeded sample of ``clustering.evaluation_sample_size`` customers when there are
    more (silhouette on a smaller sample: it is quadratic), with
    ``k_selection.n_init`` restarts per k."""
    features = model_input[FEATURES].to_numpy(dtype=float)
    features = features[
        sample_rows(
            len(features),
            clustering["evaluation_sample_size"],
            clustering["random_state"],
        )
    ]
    k_max = min(k_selection["k_max"], len(np.unique(features, axis=0)) - 1)
    rows = []
    for k in range(k_selection["k_min"], k_max + 1):
        model = fit_segmentation_model(
            features, clustering, n_clusters=k, n_init=k_selection["n_init"]
        )
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


def summarise_segments(segment_profile: SegmentProfile) -> pd.DataFrame:
    """The profile's segments as a table: customers, share, mean and median R/F/M
    and tenure, revenue (total, share, per customer, in the profile's currency) and
    outliers per segment, and with the customer-value models their expectations
    over the horizon (``p_alive_mean``, ``expected_*``); names without customers have zeros
    (``unfilled``: no cluster meets the name's centre rules)."""
    rows = []
    for segment in segment_profile.segments:
        row = {
            "segment_name": segment.segment_name,
            "customers": segment.customers,
            "share": segment.share,
        }
        for stat in ("mean", "median"):
            values = getattr(segment, stat)
            for feature in FEATURES:
                row[f"{feature}_{stat}"] = getattr(values, feature) if values else None
        for stat in ("mean", "median"):
            row[f"tenure_{stat}"] = (
                getattr(segment.tenure, stat) if segment.tenure else None
            )
        rows.append(
            {
                **row,
                "revenue": segment.revenue.total,
                "revenue_share": segment.revenue.share,
                "revenue_per_customer": segment.revenue.per_customer,
                "currency": segment_profile.currency,
                "outliers": segment.outliers,
                "moved_in": segment.moved_in,
                "unfilled": segment.unfilled,
                **_value_columns(segment, segment_profile),
            }
        )
    return pd.DataFrame(rows)


def _value_columns(segment: SegmentInfo, profile: SegmentProfile) -> dict[str, Any]:
    """The segment's customer value as columns, none without the models."""
    if profile.customer_value is None:
        return {}
    fields = SegmentValue.model_fields
    value = segment.value.model_dump() if segment.value else dict.fromkeys(fields, 0.0)
    return {name: value[name] for name in fields}


def stability_by_segment(
    segment_stability: pd.DataFrame, segment_profile: SegmentProfile
) -> pd.DataFrame:
    """Long table: per run, the overall adjusted Rand index and each cluster's best
    Jaccard overlap, labelled with the cluster's name."""
    names = dict(enumerate(segment_profile.naming.cluster_names))
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


def export_audiences(
    customer_segments: pd.DataFrame,
    segment_profile: SegmentProfile,
    columns: Mapping[str, Any],
) -> dict[str, Callable[[], pd.DataFrame]]:
    """One table per segment name of the profile, by file name (``segment_slug``),
    for campaign tools: the customer id (named as in the source file), the
    ``columns.passthrough`` columns, segment, strategy, as-of date, first and last
    purchase, recency, frequency, monetary, and the revenue in ``currency``. A name
    without customers gets a table with its header only.

    Each table is made as it is saved (the partitioned dataset's lazy saving): at
    ten million customers all of them at once, every row with its strategy's
    sentence, would be gigabytes."""
    carried = passthrough_columns(columns)
    if missing := [c for c in carried if c not in customer_segments.columns]:
        raise ValueError(
            f"customer_segments has no column(s) {missing} of `columns.passthrough`: "
            "it was written with other parameters; run `kedro run` again."
        )
    strategies = {s.segment_name: s.strategy for s in segment_profile.segments}

    def audience(segment: str) -> pd.DataFrame:
        members = customer_segments[customer_segments["segment_name"] == segment]
        return pd.DataFrame(
            {
                columns["customer_id"]: members["customer_id"],
                **{name: members[name] for name in carried},
                "segment": segment,
                "strategy": strategies[segment],
                **{
                    name: members[name]
                    for name in ("as_of", "first_purchase", "last_purchase", *FEATURES)
                },
                "revenue": members["monetary"],
                "currency": segment_profile.currency,
            }
        ).reset_index(drop=True)

    return {
        segment_slug(name): functools.partial(audience, name)
        for name in segment_profile.segment_names
    }
