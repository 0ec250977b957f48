"""The one assignment (Segmenter) against the fitted scikit-learn Pipeline, and the
per-customer rules it honours."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from rfm_segmentation.assignment import KEPT
from rfm_segmentation.model import FEATURES, arithmetic_of
from rfm_segmentation.segments import (
    RETURNING,
    base_segment,
    customer_rule_groups,
)

from .support import newest_release


@pytest.fixture(scope="module")
def release(trained_project):
    return newest_release(trained_project)


def random_customers(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """RFM beyond the training range too, and a tenure of at least the recency."""
    rng = np.random.default_rng(seed)
    recency = rng.uniform(0, 800, n)
    rfm = np.column_stack(
        [
            recency,
            np.exp(rng.uniform(0, np.log(500), n)),
            np.where(
                rng.random(n) < 0.05, 0.0, np.exp(rng.uniform(-2, np.log(1e6), n))
            ),
        ]
    )
    return rfm, recency + rng.uniform(0, 400, n)


def test_labels_equal_pipeline_predict_on_100000_random_inputs(release):
    rfm, _ = random_customers(100_000, 2024)
    np.testing.assert_array_equal(
        release.segmenter.predict(rfm), release.model.predict(rfm)
    )


def test_every_name_meets_its_segments_rules_and_kept_names_are_the_clusters(release):
    rfm, tenure = random_customers(50_000, 7)
    assigned = release.segmenter.assign(rfm, tenure)
    np.testing.assert_array_equal(assigned.labels, release.model.predict(rfm))
    features = {**dict(zip(FEATURES, rfm.T, strict=True)), "tenure": tenure}
    thresholds = release.profile.naming.thresholds
    for name in set(assigned.names):
        rows = assigned.names == name
        part = {f: v[rows] for f, v in features.items()}
        assert customer_rule_groups(base_segment(name), part, thresholds).all(), name
    kept = assigned.reasons == KEPT
    cluster_names = np.asarray(release.profile.naming.cluster_names, dtype=object)
    assert (assigned.names[kept] == cluster_names[assigned.labels[kept]]).all()
    assert (assigned.names[~kept] != cluster_names[assigned.labels[~kept]]).all()
    assert all(r.startswith("moved: ") for r in assigned.reasons[~kept])
    assert 0 < kept.mean() < 1


def around(values: list[float]) -> list[float]:
    return sorted({v + d for v in values for d in (-0.5, 0, 0.5)})


def at_thresholds(segmenter) -> tuple[np.ndarray, np.ndarray]:
    """Customers exactly at, just under and just over every learned threshold."""
    t = segmenter.thresholds
    days = [t.recent_days, t.lapsed_days, t.new_tenure_days]
    grid = np.array(
        np.meshgrid(
            around(days),
            around([1, t.few_purchases]),
            around([t.low_spend, t.high_spend]),
            around(days),
        )
    ).reshape(4, -1)
    tenure = np.maximum(grid[3], grid[0])
    return np.clip(grid[:3].T, [0, 1, 0], None), tenure


@pytest.mark.parametrize(
    "names",
    [None, ("Champions", "Champions 2", "At-Risk", "Lost Customers")],
    ids=["fitted names", "a segment no cluster carries"],
)
def test_assign_one_equals_assign_for_every_customer(release, names):
    segmenter = release.segmenter
    if names is not None:
        segmenter = dataclasses.replace(segmenter, cluster_names=names)
    rfm, tenure = random_customers(20_000, 11)
    edge_rfm, edge_tenure = at_thresholds(segmenter)
    rfm, tenure = np.vstack([rfm, edge_rfm]), np.concatenate([tenure, edge_tenure])
    for given in (tenure, None):
        vector = segmenter.assign(rfm, given)
        one = [
            segmenter.assign_one(*row, None if given is None else float(given[i]))
            for i, row in enumerate(rfm.tolist())
        ]
        labels, names_, reasons = (list(column) for column in zip(*one, strict=True))
        assert labels == vector.labels.tolist()
        assert names_ == vector.names.tolist()
        assert reasons == vector.reasons.tolist()
        assert len(set(names_)) > 3 and KEPT in reasons and len(set(reasons)) > 2


def test_without_tenure_its_rules_are_not_checked_and_said_so(release):
    segmenter = release.segmenter
    assert segmenter.unchecked("New Customers", tenure_given=False) == [
        "New Customers: first bought within "
        f"{release.profile.naming.thresholds.new_tenure_days:g} days"
    ]
    assert segmenter.unchecked("New Customers", tenure_given=True) == []
    assert segmenter.unchecked("Champions", tenure_given=False) == []
    assert RETURNING.name in {
        s.split(":")[0] for s in segmenter.unchecked(RETURNING.name, False)
    }


def test_the_model_keeps_no_per_customer_arrays_and_refits_the_same(
    release, trained_project
):
    model = release.model
    assert not hasattr(model.named_steps["kmeans"], "labels_")
    values = pd.read_parquet(
        trained_project / "data/05_model_input/model_input.parquet"
    )[FEATURES].to_numpy(dtype=float)
    refit = clone(model).fit(values)
    for step, attribute in (("clip", "upper_bounds_"), ("kmeans", "cluster_centers_")):
        np.testing.assert_allclose(
            getattr(refit.named_steps[step], attribute),
            getattr(model.named_steps[step], attribute),
        )


def test_one_customer_gets_the_answer_of_the_batch(release):
    rfm, tenure = random_customers(200, 11)
    batch = release.segmenter.assign(rfm, tenure)
    for i in range(0, 200, 20):
        one = release.segmenter.assign(rfm[i : i + 1], tenure[i : i + 1])
        assert (one.names[0], one.labels[0], one.reasons[0]) == (
            batch.names[i],
            batch.labels[i],
            batch.reasons[i],
        )
    assert arithmetic_of(release.model) == release.arithmetic
