from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_segmentation.pipelines.clustering.nodes import build_model_input
from rfm_segmentation.pipelines.release.nodes import export_customer_segments
from rfm_segmentation.profile import SegmentProfile
from rfm_segmentation.segments import SEGMENT_NAMES
from rfm_segmentation.slices import pipeline_of, run_slice

from ...support import four_groups, source_id

SOURCE_ID = source_id()


@pytest.fixture(scope="module")
def rfm_features() -> pd.DataFrame:
    return four_groups()


def cluster(rfm_features: pd.DataFrame, params) -> dict:
    return run_slice(pipeline_of("clustering"), {"rfm_features": rfm_features}, params)


@pytest.fixture(scope="module")
def outputs(rfm_features, params) -> dict:
    return cluster(rfm_features, params)


def test_profile_names_each_group_and_describes_it(outputs, rfm_features):
    profile: SegmentProfile = outputs["segment_profile"]
    clusters = {c.segment_name: c for c in profile.clusters}
    assert set(clusters) == set(SEGMENT_NAMES)
    assert clusters["Champions"].centroid.frequency == pytest.approx(20, rel=0.15)
    assert clusters["Lost Customers"].centroid.recency == pytest.approx(300, rel=0.15)
    assert sum(c.size for c in profile.clusters) == len(rfm_features)
    assert sum(s.customers for s in profile.segments) == len(rfm_features)
    assert profile.n_customers == len(rfm_features)
    assert all(s.strategy and s.description for s in profile.segments)
    assert 0.5 < profile.silhouette <= 1
    assert profile.naming.feature_ranges.frequency.min == 1
    assert str(profile.as_of) == rfm_features["as_of"].iloc[0]
    assert profile.currency == "GBP"


def test_every_customer_is_assigned_once_keeping_its_clusters_name_or_why_not(
    outputs, rfm_features
):
    segments, profile = outputs["customer_segments"], outputs["segment_profile"]
    assert segments["customer_id"].is_unique
    assert len(segments) == len(rfm_features)
    names = dict(enumerate(profile.naming.cluster_names))
    kept = segments["name_reason"] == "cluster"
    assert (
        segments.loc[kept, "cluster_label"].map(names)
        == segments.loc[kept, "segment_name"]
    ).all()
    assert kept.mean() >= 0.95
    assert segments.iloc[0]["segment_name"] == "Champions"  # recent, frequent, big


def test_the_export_names_the_id_column_as_the_source_file_does(outputs, params):
    exported = export_customer_segments(
        outputs["customer_segments"], params["columns"]["customer_id"]
    )
    assert exported.columns[0] == params["columns"]["customer_id"] == SOURCE_ID
    assert (
        exported.columns[1:].tolist()
        == outputs["customer_segments"].columns[1:].tolist()
    )


def test_training_is_deterministic(rfm_features, params):
    first, second = (cluster(rfm_features, params) for _ in range(2))
    pd.testing.assert_frame_equal(
        first["customer_segments"], second["customer_segments"]
    )


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("recency", -1, "recency < 0"),
        ("frequency", 0, "frequency < 1"),
        ("monetary", np.nan, "monetary < 0"),
    ],
)
def test_model_input_rejects_values_the_model_cannot_use(
    rfm_features, params, column, value, rule
):
    broken = rfm_features.copy()
    broken.loc[3, column] = value
    with pytest.raises(ValueError, match=rule):
        build_model_input(broken, params["clustering"])
