from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_segmentation.model import FEATURES
from rfm_segmentation.pipelines.clustering.nodes import build_model_input
from rfm_segmentation.profile import SegmentProfile
from rfm_segmentation.segments import SEGMENT_NAMES
from rfm_segmentation.slices import pipeline_of, run_slice

from ...support import source_id

SOURCE_ID = source_id()


@pytest.fixture(scope="module")
def rfm_features() -> pd.DataFrame:
    """Four well-separated behaviour groups, 50 customers each; the recent one-off
    buyers are new (short tenure)."""
    rng = np.random.default_rng(0)
    groups = [
        (5, 20, 5000, 300),
        (150, 6, 2000, 330),
        (10, 1, 60, 12),
        (300, 1, 40, 300),
    ]
    rows = [
        (
            rng.normal(r, r / 10),
            max(1, round(rng.normal(f, f / 10))),
            rng.normal(m, m / 10),
            round(rng.normal(t, t / 10)),
        )
        for r, f, m, t in groups
        for _ in range(50)
    ]
    table = pd.DataFrame(rows, columns=[*FEATURES, "tenure"]).abs()
    table.insert(0, "customer_id", [f"c{i}" for i in range(len(table))])
    return table


def cluster(rfm_features: pd.DataFrame, params) -> dict:
    return run_slice(pipeline_of("clustering"), {"rfm_features": rfm_features}, params)


@pytest.fixture(scope="module")
def outputs(rfm_features, params) -> dict:
    return cluster(rfm_features, params)


def test_profile_names_each_group_and_describes_it(outputs, rfm_features):
    profile: SegmentProfile = outputs["segment_profile"]
    by_name = {s.segment_name: s for s in profile.segments}
    assert set(by_name) == set(SEGMENT_NAMES)
    assert by_name["Champions"].centroid.frequency == pytest.approx(20, rel=0.15)
    assert by_name["Lost Customers"].centroid.recency == pytest.approx(300, rel=0.15)
    assert sum(s.size for s in profile.segments) == len(rfm_features)
    assert profile.n_customers == len(rfm_features)
    assert all(s.strategy and s.description for s in profile.segments)
    assert 0.5 < profile.silhouette <= 1
    assert profile.feature_ranges.frequency.min == 1


def test_every_customer_is_assigned_once_with_the_profile_names(outputs, rfm_features):
    segments, profile = outputs["customer_segments"], outputs["segment_profile"]
    assert segments["customer_id"].is_unique
    assert len(segments) == len(rfm_features)
    names = dict(enumerate(profile.names))
    assert (segments["cluster_label"].map(names) == segments["segment_name"]).all()
    assert segments.iloc[0]["segment_name"] == "Champions"  # recent, frequent, big


def test_the_release_holds_the_model_profile_and_table_of_one_run(outputs):
    release = outputs["model_release"]
    assert release.model is outputs["segmentation_model"]
    assert release.profile == outputs["segment_profile"]
    pd.testing.assert_frame_equal(release.customers, outputs["customer_segments"])


def test_the_export_names_the_id_column_as_the_source_file_does(outputs, params):
    exported = outputs["customer_segments_csv"]
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
    rfm_features, column, value, rule
):
    broken = rfm_features.copy()
    broken.loc[3, column] = value
    with pytest.raises(ValueError, match=rule):
        build_model_input(broken)
