"""The model module's own arithmetic, against scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import silhouette_score

from rfm_segmentation import model
from rfm_segmentation.model import silhouette


@pytest.mark.parametrize(
    ("n", "k", "cells"), [(2055, 4, 10_000), (300, 7, 1 << 22), (40, 3, 7), (5, 2, 1)]
)
def test_the_silhouette_is_scikit_learns(n, k, cells, monkeypatch):
    """In chunks of any size (one row, a few, all), with a customer alone in a
    cluster (scored 0), tied points (distance 0) and labels that are not 0..k-1."""
    monkeypatch.setattr(model, "SILHOUETTE_CELLS", cells)
    rng = np.random.default_rng(n)
    points = rng.lognormal(size=(n, 3))
    labels = rng.integers(0, k, n) * 10
    labels[0] = 10 * k  # alone
    points[2] = points[1]
    assert silhouette(points, labels) == pytest.approx(
        silhouette_score(points, labels), abs=1e-12
    )


def test_a_silhouette_needs_two_clusters_and_finite_values():
    with pytest.raises(ValueError, match="2 to n - 1 clusters, got 1"):
        silhouette(np.ones((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="finite"):
        silhouette(np.array([[0.0], [1.0], [np.nan]]), np.array([0, 1, 1]))
