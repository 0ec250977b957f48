from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest
from matplotlib.figure import Figure

from rfm_segmentation.catalog import load_catalog
from rfm_segmentation.pipelines.reporting import figures
from rfm_segmentation.pipelines.reporting.nodes import (
    evaluate_k_range,
    export_audiences,
    summarise_segments,
)
from rfm_segmentation.profile import SegmentProfile
from rfm_segmentation.segments import (
    RETURNING,
    SEGMENT_NAMES,
    base_segment,
    segment_order,
    segment_slug,
)
from rfm_segmentation.slices import pipeline_of, run_slice

from ...support import four_groups, source_id

AUDIENCE_COLUMNS = [
    "segment",
    "strategy",
    "as_of",
    "first_purchase",
    "last_purchase",
    "recency",
    "frequency",
    "monetary",
    "revenue",
    "currency",
]


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
    assert "unfilled: New Customers" in figure.get_suptitle()


def test_the_stability_figure_names_segments_and_the_overall_index(
    profile, segment_stability
):
    plotly_figure, figure = figures.stability(segment_stability, profile)
    shown = {x for trace in plotly_figure.data for x in trace.x}
    assert shown == {"overall (ARI)", *SEGMENT_NAMES}
    assert figure.axes[0].get_ylim() == (0, 1.05)


def test_k_range_reports_inertia_and_sampled_silhouette(customer_segments, params):
    k_selection = evaluate_k_range(
        customer_segments,
        {"k_min": 2, "k_max": 10, "n_init": 3},
        params["clustering"],
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
    if source == "summary":
        plotly_figure, figure = plot(summarise_segments(profile))
    elif plot is figures.snake_plot:
        plotly_figure, figure = plot(customer_segments)
    else:
        plotly_figure, figure = plot(customer_segments, "GBP")
    assert isinstance(plotly_figure, go.Figure)
    assert plotly_figure.data
    assert isinstance(figure, Figure)
    assert figure.axes


def test_audiences_are_one_csv_per_segment_with_ids_as_in_the_source(
    customer_segments, profile, params, project_factory
):
    """Saved through the project's catalog entry: every name of the profile has a
    file (one without customers its header only), ids keep their leading zeros, the
    id column is named as in the source, carried columns follow it."""
    segments = customer_segments.assign(
        customer_id=[f"00{i}" for i in range(len(customer_segments))],
        Email=[f"c{i}@example.com" for i in range(len(customer_segments))],
    )
    columns = {**params["columns"], "passthrough": ["Email"]}
    audiences = export_audiences(segments, profile, columns)
    assert list(audiences) == [segment_slug(n) for n in profile.segment_names]
    empty = [s.segment_name for s in profile.segments if not s.customers]
    assert empty  # four behaviour groups leave a name without customers
    project = project_factory()
    catalog = load_catalog(project, names=["audiences"])
    catalog.save("audiences", audiences)
    folder = project / "data/08_reporting/audiences"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{segment_slug(n)}.csv" for n in profile.segment_names
    )
    for segment in profile.segments:
        path = folder / f"{segment_slug(segment.segment_name)}.csv"
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert list(table.columns) == [source_id(), "Email", *AUDIENCE_COLUMNS]
        assert len(table) == segment.customers
        members = segments[segments["segment_name"] == segment.segment_name]
        assert table[source_id()].tolist() == members["customer_id"].tolist()
        assert set(table["segment"]) <= {segment.segment_name}
        assert set(table["strategy"]) <= {base_segment(segment.segment_name).strategy}
        assert set(table["currency"]) <= {"GBP"}
        assert table["revenue"].tolist() == table["monetary"].tolist()
    assert (folder / f"{segment_slug(empty[0])}.csv").read_text().strip() == ",".join(
        [source_id(), "Email", *AUDIENCE_COLUMNS]
    )


def test_figures_carry_counts_the_currency_and_the_k_in_use(profile, customer_segments):
    summary = summarise_segments(profile)
    _, sizes = figures.segment_sizes(summary)
    texts = [t.get_text() for ax in sizes.axes for t in ax.texts]
    champions = summary.set_index("segment_name").loc["Champions"]
    assert f"{champions['customers']:,} ({champions['share']:.0%})" in texts
    assert any(t.startswith("GBP ") for t in texts)
    assert sizes.axes[1].get_ylabel() == "revenue (GBP)"
    plotly_box, box = figures.rfm_distributions(customer_segments, "EUR")
    assert "EUR" in box.axes[2].get_ylabel()
    assert all(len(trace.q1) == 1 for trace in plotly_box.data)  # no per-point data
    k_table = pd.DataFrame(
        {"k": [2, 3, 4], "inertia": [3.0, 2.0, 1.0], "silhouette": [0.43, 0.4, 0.33]}
    )
    _, k_figure = figures.k_selection_curves(k_table, 4)
    assert "prefers k = 2 (0.43 against 0.33 at k = 4)" in k_figure.get_suptitle()
