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
            "segment_name": [
                n
                for n in ("Champions", "At-Risk", "New Customers", "Lost Customers")
                for _ in "12"
            ],
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
