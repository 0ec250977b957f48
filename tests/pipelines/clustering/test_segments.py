from __future__ import annotations

import itertools

import numpy as np
import pytest

from rfm_segmentation.segments import (
    RULES,
    SEGMENT_NAMES,
    base_segment,
    name_clusters,
    rules_markdown,
    segment_colour,
    segment_order,
)

# (recency days, purchases, money, median tenure days) of typical clusters
TYPICAL = {
    "Champions": (8, 11, 4000, 360),
    "At-Risk": (50, 4, 1400, 280),
    "New Customers": (17, 1.8, 390, 50),
    "Lost Customers": (165, 1.3, 270, 235),
}
POPULATION_TENURE = 250


def name(clusters, tenure_ratio=0.5, tolerance=0.1):
    """Name clusters given as (recency, frequency, monetary, median tenure) rows."""
    table = np.array(clusters, dtype=float)
    logs = np.log1p(table[:, :3])
    standardized = (logs - logs.mean(axis=0)) / logs.std(axis=0)
    return name_clusters(
        table[:, :3],
        standardized,
        tenure_medians=table[:, 3],
        population_tenure_median=POPULATION_TENURE,
        new_max_tenure_ratio=tenure_ratio,
        tie_tolerance=tolerance,
    )


@pytest.mark.parametrize("order", list(itertools.permutations(TYPICAL))[::5])
def test_names_follow_centroids_not_label_numbers(order):
    naming = name([TYPICAL[n] for n in order])
    assert naming.names == list(order)
    assert naming.unfilled == []
    assert all(check.holds and check.margin > 0 for check in naming.checks)
    assert len(naming.checks) == len(RULES) + 1  # and the tenure rule


def test_an_old_cohort_gets_no_new_customers_and_no_name_that_lies():
    """The issue's case: a recent-ish cluster of long-standing customers and a
    long-gone one that spends little must not be New Customers and At-Risk."""
    clusters = [
        (8, 11, 4000, 360),  # Champions
        (179, 4.3, 500, 300),  # long-standing, lapsing: not new
        (433, 1.2, 65, 420),  # long gone, spends little: not At-Risk
        (60, 5, 1500, 300),  # At-Risk
    ]
    naming = name(clusters)
    assert "New Customers" in naming.unfilled
    assert naming.names[0] == "Champions"
    assert base_segment(naming.names[2]).name == "Lost Customers"
    assert all(check.holds is not False for check in naming.checks)
    (tenure,) = [c for c in naming.checks if "tenure" in c.rule]
    assert tenure.holds is None  # no cluster carries the name


def test_new_customers_need_a_short_median_tenure():
    clusters = list(TYPICAL.values())
    assert "New Customers" in name(clusters).names
    assert name(clusters, tenure_ratio=0.1).unfilled == ["New Customers"]


def test_a_near_tie_does_not_contradict_a_name_but_a_clear_inversion_does():
    """At-Risk must be less recent than New Customers (17 days): 16 days is a tie
    within 10%, 10 days is the wrong way round."""
    near = [TYPICAL["Champions"], (16, 4, 1400, 280), *list(TYPICAL.values())[2:]]
    naming = name(near)
    assert naming.names == list(TYPICAL)
    (check,) = [c for c in naming.checks if c.rule.startswith("At-Risk are less")]
    assert check.holds and -0.1 < check.margin < 0
    inverted = [TYPICAL["Champions"], (10, 4, 1400, 280), *list(TYPICAL.values())[2:]]
    assert name(inverted).names[1] != "At-Risk"


def test_extra_clusters_are_numbered_by_distance_to_their_prototype():
    clusters = [*TYPICAL.values(), (10, 9, 3000, 350), (12, 7, 2500, 340)]
    naming = name(clusters)
    assert naming.names[:4] == list(TYPICAL)
    assert naming.names[4:] == ["Champions 2", "Champions 3"]
    assert naming.unfilled == []


def test_fewer_clusters_leave_names_unfilled():
    clusters = [
        TYPICAL["Champions"],
        TYPICAL["Lost Customers"],
        TYPICAL["New Customers"],
    ]
    naming = name(clusters)
    assert naming.names == ["Champions", "Lost Customers", "New Customers"]
    assert naming.unfilled == ["At-Risk"]


def test_numbered_names_belong_to_their_segment_and_sort_and_colour_with_it():
    assert base_segment("Champions 3").name == "Champions"
    with pytest.raises(KeyError, match="Unknown segment"):
        base_segment("VIP")
    names = ["Lost Customers", "Champions 2", "At-Risk", "Champions"]
    assert segment_order(names) == [
        "Champions",
        "Champions 2",
        "At-Risk",
        "Lost Customers",
    ]
    assert segment_colour("Champions 2") != segment_colour("Champions")
    assert len({segment_colour(f"Lost Customers {i}") for i in range(2, 6)}) == 4


def test_the_rules_render_for_the_docs():
    text = rules_markdown({"new_max_tenure_ratio": 0.5, "tie_tolerance": 0.1})
    assert text.count("\n- ") == len(RULES)  # every rule, and the tenure rule
    assert "0.5 times the median tenure" in text
    assert all(name in text for name in SEGMENT_NAMES)
