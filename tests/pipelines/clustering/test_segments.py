from __future__ import annotations

import itertools

import numpy as np
import pytest

from rfm_segmentation.segments import SEGMENT_NAMES, base_segment, name_clusters

# (recency, frequency, monetary) in standard deviations
CORNERS = {
    "Champions": (-1.2, 1.1, 1.3),
    "At-Risk": (0.8, 0.6, 0.7),
    "New Customers": (-0.9, -0.7, -0.5),
    "Lost Customers": (1.1, -0.8, -0.9),
}


@pytest.mark.parametrize("order", list(itertools.permutations(CORNERS))[::5])
def test_names_follow_centroids_not_label_numbers(order):
    centroids = np.array([CORNERS[name] for name in order])
    assert name_clusters(centroids) == list(order)


def test_k4_uses_each_name_once_even_when_two_centroids_prefer_one():
    centroids = np.array(
        [(-1.0, 1.0, 1.0), (-0.8, 0.9, 0.8), (1.0, -1.0, -1.0), (1.0, -0.9, -1.1)]
    )
    assert sorted(name_clusters(centroids)) == sorted(SEGMENT_NAMES)


def test_fewer_clusters_take_the_best_fitting_names():
    centroids = np.array(
        [CORNERS["Champions"], CORNERS["Lost Customers"], CORNERS["New Customers"]]
    )
    assert name_clusters(centroids) == ["Champions", "Lost Customers", "New Customers"]


def test_extra_clusters_are_numbered_by_distance_to_their_prototype():
    centroids = np.array([*CORNERS.values(), (-0.5, 0.5, 0.5), (-0.3, 0.2, 0.2)])
    names = name_clusters(centroids)
    assert names[:4] == list(CORNERS)
    assert names[4:] == ["Champions 2", "Champions 3"]
    assert base_segment("Champions 3").name == "Champions"
    with pytest.raises(KeyError, match="Unknown segment"):
        base_segment("VIP")
