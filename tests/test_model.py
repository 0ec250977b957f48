"""The model module's own arithmetic, against scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import silhouette_score

from rfm_segmentation.model import SILHOUETTE_CHUNK, silhouette


@pytest.mark.parametrize(
    ("n", "k"), [(SILHOUETTE_CHUNK * 2 + 7, 4), (300, 7), (40, 3), (5, 2)]
)
def test_the_silhouette_is_scikit_learns(n, k):
    """Across chunk edges, with a customer alone in a cluster (scored 0), tied
    points (distance 0) and labels that are not 0..k-1."""
    rng = np.random.default_rng(n)
    points = rng.lognormal(size=(n, 3))
    labels = rng.integers(0, k, n) * 10
    labels[0] = 10 * k  # alone
    points[2] = points[1]
    assert silhouette(points, labels) == pytest.approx(
        silhouette_score(points, labels), abs=1e-12
    )


def test_a_silhouette_needs_two_clusters():
    with pytest.raises(ValueError, match="2 to n - 1 clusters, got 1"):
        silhouette(np.ones((5, 3)), np.zeros(5))
