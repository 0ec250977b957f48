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
from rfm_segmentation.segments import SEGMENT_NAMES


@pytest.fixture(scope="module")
def customer_segments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": list("abcdefgh"),
            "recency": [1, 3, 200, 250, 5, 8, 300, 320],
            "frequency": [20, 15, 6, 5, 1, 2, 1, 1],
            "monetary": [5000.0, 3000.0, 1500.0, 1000.0, 50.0, 80.0, 20.0, 30.0],
            "cluster_label": [0, 0, 1, 1, 2, 2, 3, 3],
            "segment_name": [
                n
                for n in ("Champions", "At-Risk", "New Customers", "Lost Customers")
                for _ in "12"
            ],
            "tenure": [300, 320, 310, 330, 6, 9, 300, 320],
            "is_outlier": [True, False, False, False, False, False, False, False],
        }
    )


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


def test_summary_has_one_row_per_segment_in_canonical_order(customer_segments):
    summary = summarise_segments(customer_segments)
    assert summary["segment_name"].tolist() == list(SEGMENT_NAMES)
    assert summary["customers"].sum() == len(customer_segments)
    assert summary["share"].sum() == pytest.approx(1)
    assert summary["revenue_share"].sum() == pytest.approx(
        1, abs=1e-3
    )  # rounded to 4 places
    champions = summary.set_index("segment_name").loc["Champions"]
    assert champions["monetary_mean"] == 4000
    assert champions["revenue_share"] == pytest.approx(8000 / 10680, abs=1e-4)
    assert champions["tenure_median"] == 310
    assert champions["outliers"] == 1
    assert not summary["unfilled"].any()


def test_an_unfilled_name_has_an_empty_row_and_is_named_in_the_sizes_figure(
    customer_segments,
):
    without_new = customer_segments[
        customer_segments["segment_name"] != "New Customers"
    ]
    summary = summarise_segments(without_new)
    row = summary.set_index("segment_name").loc["New Customers"]
    assert (row["customers"], row["unfilled"]) == (0, True)
    plotly_figure, figure = figures.segment_sizes(summary)
    assert "unfilled: New Customers" in plotly_figure.layout.title.text
    assert "unfilled: New Customers" in figure.axes[0].get_title()


def test_the_stability_figure_names_segments_and_the_overall_index(
    customer_segments, segment_stability
):
    plotly_figure, figure = figures.stability(segment_stability, customer_segments)
    shown = {x for trace in plotly_figure.data for x in trace.x}
    assert shown == {"overall (ARI)", *SEGMENT_NAMES}
    assert figure.axes[0].get_ylim() == (0, 1.05)


def test_k_range_reports_inertia_and_sampled_silhouette(customer_segments, params):
    k_selection = evaluate_k_range(
        customer_segments, {"k_min": 2, "k_max": 10}, params["clustering"]
    )
    assert k_selection["k"].tolist() == list(
        range(2, 8)
    )  # capped below the customer count
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
def test_figures_come_as_plotly_and_matplotlib(customer_segments, plot, source):
    data = (
        summarise_segments(customer_segments)
        if source == "summary"
        else customer_segments
    )
    plotly_figure, figure = plot(data)
    assert isinstance(plotly_figure, go.Figure)
    assert plotly_figure.data
    assert isinstance(figure, Figure)
    assert figure.axes
