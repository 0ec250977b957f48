"""Figures of the reporting pipeline: each node returns the interactive Plotly
figure (previewed in kedro-viz) and a static matplotlib one (saved as PNG)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

from rfm_segmentation.model import FEATURES
from rfm_segmentation.profile import SegmentProfile
from rfm_segmentation.segments import segment_colour as _colour
from rfm_segmentation.segments import segment_order

from .nodes import stability_by_segment


def segment_sizes(segment_summary: pd.DataFrame) -> tuple[go.Figure, Figure]:
    """Customers per segment; names no cluster meets the rules of are named in the
    title (their bars are empty)."""
    names, counts = segment_summary["segment_name"], segment_summary["customers"]
    unfilled = segment_summary.loc[segment_summary["unfilled"], "segment_name"]
    title = "Customers per segment" + (
        f" (unfilled: {', '.join(unfilled)})" if len(unfilled) else ""
    )
    plotly_figure = px.bar(
        segment_summary,
        x="segment_name",
        y="customers",
        color="segment_name",
        color_discrete_map={n: _colour(n) for n in names},
        title=title,
    )
    figure = Figure(figsize=(7, 4), layout="constrained")
    ax = figure.subplots()
    ax.bar(names, counts, color=[_colour(n) for n in names])
    ax.tick_params(axis="x", labelrotation=15)
    ax.set(title=title, ylabel="customers")
    return plotly_figure, figure


def stability(
    segment_stability: pd.DataFrame, segment_profile: SegmentProfile
) -> tuple[go.Figure, Figure]:
    """Agreement with refits under other seeds and on bootstrap resamples: overall
    adjusted Rand index and each cluster's best Jaccard overlap (1: unchanged)."""
    long = stability_by_segment(segment_stability, segment_profile)
    order = ["overall (ARI)", *segment_order(segment_profile.naming.cluster_names)]
    title = "Stability across seeds and bootstrap resamples"
    plotly_figure = px.strip(
        long,
        x="segment_name",
        y="agreement",
        color="run",
        category_orders={"segment_name": order},
        range_y=[0, 1.05],
        title=title,
    )
    figure = Figure(figsize=(8, 4), layout="constrained")
    ax = figure.subplots()
    for offset, (run, marker) in zip(
        (-0.12, 0.12), (("seed", "o"), ("bootstrap", "^")), strict=True
    ):
        part = long[long["run"] == run]
        x = [order.index(name) + offset for name in part["segment_name"]]
        ax.scatter(x, part["agreement"], marker=marker, label=run, alpha=0.7)
    ax.set_xticks(range(len(order)), order, rotation=15)
    ax.set(ylim=(0, 1.05), ylabel="agreement", title=title)
    ax.legend()
    return plotly_figure, figure


def rfm_distributions(customer_segments: pd.DataFrame) -> tuple[go.Figure, Figure]:
    """Recency, frequency and monetary per segment (log scale for the skewed two)."""
    names = _present_segments(customer_segments)
    plotly_figure = make_subplots(rows=1, cols=3, subplot_titles=FEATURES)
    figure = Figure(figsize=(12, 4), layout="constrained")
    axes = figure.subplots(1, 3)
    for col, (feature, ax) in enumerate(zip(FEATURES, axes, strict=True), start=1):
        for name in names:
            values = customer_segments.loc[
                customer_segments["segment_name"] == name, feature
            ]
            plotly_figure.add_trace(
                go.Box(
                    y=values, name=name, marker_color=_colour(name), showlegend=col == 1
                ),
                row=1,
                col=col,
            )
        groups = [
            customer_segments.loc[customer_segments["segment_name"] == n, feature]
            for n in names
        ]
        ax.boxplot(groups, tick_labels=names, showfliers=False)
        ax.tick_params(axis="x", labelrotation=30)
        ax.set_title(feature)
        if feature != "recency":
            ax.set_yscale("log")
            plotly_figure.update_yaxes(type="log", row=1, col=col)
    plotly_figure.update_layout(title="R, F and M per segment")
    return plotly_figure, figure


def customer_scatter(customer_segments: pd.DataFrame) -> tuple[go.Figure, Figure]:
    """Recency against monetary, one dot per customer, coloured by segment."""
    sample = customer_segments.sample(min(len(customer_segments), 5000), random_state=0)
    names = _present_segments(sample)
    plotly_figure = px.scatter(
        sample,
        x="recency",
        y="monetary",
        color="segment_name",
        log_y=True,
        hover_data=["frequency"],
        color_discrete_map={n: _colour(n) for n in names},
        title="Customers by recency and monetary value",
    )
    figure = Figure(figsize=(7, 5), layout="constrained")
    ax = figure.subplots()
    for name in names:
        part = sample[sample["segment_name"] == name]
        ax.scatter(
            part["recency"],
            part["monetary"].clip(lower=0.01),
            s=6,
            alpha=0.6,
            color=_colour(name),
            label=name,
        )
    ax.set(
        xlabel="recency (days)",
        ylabel="monetary",
        yscale="log",
        title="Customers by recency and monetary value",
    )
    ax.legend(markerscale=3)
    return plotly_figure, figure


def snake_plot(customer_segments: pd.DataFrame) -> tuple[go.Figure, Figure]:
    """Mean standardized (log1p) R, F and M per segment: how segments differ."""
    logged = np.log1p(customer_segments[FEATURES])
    standardized = (logged - logged.mean()) / logged.std(ddof=0)
    means = standardized.groupby(customer_segments["segment_name"]).mean()
    means = means.loc[_present_segments(customer_segments)]
    long = means.reset_index().melt(
        id_vars="segment_name", var_name="feature", value_name="z"
    )
    plotly_figure = px.line(
        long,
        x="feature",
        y="z",
        color="segment_name",
        markers=True,
        color_discrete_map={n: _colour(n) for n in means.index},
        title="Snake plot: standardized mean R, F, M",
    )
    figure = Figure(figsize=(7, 4), layout="constrained")
    ax = figure.subplots()
    for name, row in means.iterrows():
        ax.plot(FEATURES, row.to_numpy(), marker="o", color=_colour(name), label=name)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set(ylabel="standardized mean", title="Snake plot: standardized mean R, F, M")
    ax.legend()
    return plotly_figure, figure


def k_selection_curves(k_selection: pd.DataFrame) -> tuple[go.Figure, Figure]:
    """Elbow (inertia) and silhouette against k."""
    plotly_figure = make_subplots(
        rows=1, cols=2, subplot_titles=["Elbow", "Silhouette"]
    )
    plotly_figure.add_trace(
        go.Scatter(x=k_selection["k"], y=k_selection["inertia"], name="inertia"), 1, 1
    )
    plotly_figure.add_trace(
        go.Scatter(x=k_selection["k"], y=k_selection["silhouette"], name="silhouette"),
        1,
        2,
    )
    plotly_figure.update_layout(title="Choosing k")
    figure = Figure(figsize=(10, 4), layout="constrained")
    elbow, silhouette = figure.subplots(1, 2)
    elbow.plot(k_selection["k"], k_selection["inertia"], marker="o")
    elbow.set(title="Elbow", xlabel="k", ylabel="inertia")
    silhouette.plot(
        k_selection["k"], k_selection["silhouette"], marker="o", color="#e76f51"
    )
    silhouette.set(title="Silhouette (sampled)", xlabel="k", ylabel="silhouette")
    return plotly_figure, figure


def _present_segments(customer_segments: pd.DataFrame) -> list[str]:
    return segment_order(customer_segments["segment_name"].unique())
