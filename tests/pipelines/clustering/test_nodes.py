from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_segmentation.pipelines.clustering.model import FEATURES
from rfm_segmentation.pipelines.clustering.nodes import (
    assign_segments,
    build_model_input,
    profile_segments,
    train_segmentation_model,
)
from rfm_segmentation.segments import SEGMENT_NAMES


@pytest.fixture(scope="module")
def rfm_features() -> pd.DataFrame:
    """Four well-separated behaviour groups, 50 customers each."""
    rng = np.random.default_rng(0)
    groups = [(5, 20, 5000), (150, 6, 2000), (10, 1, 60), (300, 1, 40)]
    rows = [
        (
            rng.normal(r, r / 10),
            max(1, round(rng.normal(f, f / 10))),
            rng.normal(m, m / 10),
        )
        for r, f, m in groups
        for _ in range(50)
    ]
    table = pd.DataFrame(rows, columns=FEATURES).abs()
    table.insert(0, "CustomerID", [f"c{i}" for i in range(len(table))])
    return table


@pytest.fixture(scope="module")
def trained(rfm_features, params):
    model_input = build_model_input(rfm_features, "CustomerID")
    model = train_segmentation_model(model_input, params["clustering"])
    return model, profile_segments(model, model_input, params["clustering"])


def test_profile_names_each_group_and_describes_it(trained, rfm_features):
    _, profile = trained
    by_name = {s["segment_name"]: s for s in profile["segments"]}
    assert set(by_name) == set(SEGMENT_NAMES)
    assert by_name["Champions"]["centroid"]["frequency"] == pytest.approx(20, rel=0.15)
    assert by_name["Lost Customers"]["centroid"]["recency"] == pytest.approx(
        300, rel=0.15
    )
    assert (
        sum(s["size"] for s in profile["segments"])
        == len(rfm_features)
        == profile["n_customers"]
    )
    assert all(s["strategy"] and s["description"] for s in profile["segments"])
    assert 0.5 < profile["silhouette"] <= 1
    assert profile["feature_ranges"]["frequency"]["min"] == 1


def test_every_customer_is_assigned_once_with_the_profile_names(trained, rfm_features):
    model, profile = trained
    segments = assign_segments(model, profile, rfm_features)
    assert segments["CustomerID"].is_unique
    assert len(segments) == len(rfm_features)
    names = {s["cluster_label"]: s["segment_name"] for s in profile["segments"]}
    assert (segments["cluster_label"].map(names) == segments["segment_name"]).all()
    assert (
        segments.iloc[0]["segment_name"] == "Champions"
    )  # first group: recent, frequent, big


def test_training_is_deterministic(rfm_features, params):
    model_input = build_model_input(rfm_features, "CustomerID")
    first = train_segmentation_model(model_input, params["clustering"])
    second = train_segmentation_model(model_input, params["clustering"])
    np.testing.assert_array_equal(
        first.predict(model_input[FEATURES].to_numpy()),
        second.predict(model_input[FEATURES].to_numpy()),
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
        build_model_input(broken, "CustomerID")
