from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest
from matplotlib.figure import Figure

from rfm_segmentation.pipelines.reporting import figures
from rfm_segmentation.pipelines.reporting.nodes import (
    evaluate_k_range,
    summarise_segments,
)
from rfm_segmentation.profile import SegmentProfile
from rfm_segmentation.segments import RETURNING, SEGMENT_NAMES, segment_order
from rfm_segmentation.slices import pipeline_of, run_slice

from ...support import four_groups


@pytest.fixture(scope="module")
def clustered(params) -> dict:
    return run_slice(pipeline_of("clustering"), {"rfm_features": four_groups()}, params)


@pytest.fixture(scope="module")
def customer_segments(clustered) -> pd.DataFrame:
    return clustered["customer_segments"]


@pytest.fixture(scope="module")
def profile(clustered) -> SegmentProfile:
    return clustered["segment_profile"]


@pytest.fixture(scope="module")
def segment_stability() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run": ["seed", "seed", "bootstrap"],
            "number": [1, 2, 1],
            "ari": [1.0, 0.9, 0.8],
            **{f"jaccard_{label}": [1.0, 0.95, 0.7] for label in range(4)},
        }
    )


def test_summary_has_one_row_per_segment_in_canonical_order(profile, customer_segments):
    summary = summarise_segments(profile)
    assert summary["segment_name"].tolist() == segment_order(summary["segment_name"])
    assert {*SEGMENT_NAMES, RETURNING.name} <= set(summary["segment_name"])
    assert summary["customers"].sum() == len(customer_segments)
    assert summary["share"].sum() == pytest.approx(1, abs=1e-3)
    assert summary["revenue_share"].sum() == pytest.approx(1, abs=1e-3)
    assert summary["revenue"].sum() == pytest.approx(
        customer_segments["monetary"].sum(), abs=0.05
    )
    assert set(summary["currency"]) == {"GBP"}
    moved = customer_segments[customer_segments["name_reason"] != "cluster"]
    assert summary.set_index("segment_name")["moved_in"].to_dict() == {
        name: int((moved["segment_name"] == name).sum())
        for name in summary["segment_name"]
    }
    champions = summary.set_index("segment_name").loc["Champions"]
    members = customer_segments[customer_segments["segment_name"] == "Champions"]
    assert champions["monetary_mean"] == pytest.approx(members["monetary"].mean(), 0.01)
    assert champions["tenure_median"] == members["tenure"].median()
    assert champions["outliers"] == members["is_outlier"].sum()
    assert champions["revenue_per_customer"] == pytest.approx(
        members["monetary"].mean(), abs=0.01
    )
    assert not summary["unfilled"].any()


def test_an_unfilled_name_has_an_empty_row_and_is_named_in_the_sizes_figure(profile):
    unfilled = profile.model_copy(
        update={
            "segments": [
                s.model_copy(update={"unfilled": s.segment_name == "New Customers"})
                for s in profile.segments
            ]
        }
    )
    summary = summarise_segments(unfilled)
    assert summary.set_index("segment_name").loc["New Customers", "unfilled"]
    plotly_figure, figure = figures.segment_sizes(summary)
    assert "unfilled: New Customers" in plotly_figure.layout.title.text
    assert "unfilled: New Customers" in figure.axes[0].get_title()


def test_the_stability_figure_names_segments_and_the_overall_index(
    profile, segment_stability
):
    plotly_figure, figure = figures.stability(segment_stability, profile)
    shown = {x for trace in plotly_figure.data for x in trace.x}
    assert shown == {"overall (ARI)", *SEGMENT_NAMES}
    assert figure.axes[0].get_ylim() == (0, 1.05)


def test_k_range_reports_inertia_and_sampled_silhouette(customer_segments, params):
    k_selection = evaluate_k_range(
        customer_segments, {"k_min": 2, "k_max": 10}, params["clustering"]
    )
    assert k_selection["k"].tolist() == list(range(2, 11))
    assert k_selection["inertia"].is_monotonic_decreasing
    assert k_selection["silhouette"].between(-1, 1).all()


@pytest.mark.parametrize(
    ("plot", "source"),
    [
        (figures.segment_sizes, "summary"),
        (figures.rfm_distributions, "segments"),
        (figures.customer_scatter, "segments"),
        (figures.snake_plot, "segments"),
    ],
)
def test_figures_come_as_plotly_and_matplotlib(
    customer_segments, profile, plot, source
):
    data = summarise_segments(profile) if source == "summary" else customer_segments
    plotly_figure, figure = plot(data)
    assert isinstance(plotly_figure, go.Figure)
    assert plotly_figure.data
    assert isinstance(figure, Figure)
    assert figure.axes
