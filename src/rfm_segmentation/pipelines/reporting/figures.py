"""Figures of the reporting pipeline: each node returns the interactive Plotly
figure (previewed in kedro-viz) and a static matplotlib one (saved as PNG).

Every figure is in the segments' colours, every axis says its unit (money in the
profile's currency), and the Plotly figures carry summaries, never one value per
customer (but for the scatter's fixed-size sample), so they stay small at millions
of customers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

from rfm_segmentation.model import FEATURES
from rfm_segmentation.profile import SegmentProfile
from rfm_segmentation.segments import SEGMENT_NAMES, segment_order
from rfm_segmentation.segments import segment_colour as _colour

from .nodes import stability_by_segment

SCATTER_SAMPLE = 5000  # customers drawn in the scatter, whatever the table's size
GREY = "#888888"


def money(value: float, currency: str) -> str:
    """An amount with its currency, to three figures: ``GBP 5.69M``, ``GBP 812``."""
    for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{currency} {value / size:.3g}{suffix}"
    return f"{currency} {value:.3g}"


def axis_labels(currency: str) -> dict[str, str]:
    """Each feature's axis label, with its unit."""
    return {
        "recency": "recency (days since the last purchase)",
        "frequency": "frequency (purchases)",
        "monetary": f"monetary (total spend, {currency})",
    }


def segment_sizes(segment_summary: pd.DataFrame) -> tuple[go.Figure, Figure]:
    """Customers and revenue per segment, each bar with its count or amount and
    share (revenue also per customer); names no cluster meets the rules of are named
    in the title (their bars are empty)."""
    names = segment_summary["segment_name"].tolist()
    currency = segment_summary["currency"].iloc[0]
    colours = [_colour(n) for n in names]
    customers = [
        f"{n:,} ({share:.0%})"
        for n, share in zip(
            segment_summary["customers"], segment_summary["share"], strict=True
        )
    ]
    revenue = [
        f"{money(total, currency)} ({share:.0%})\n{money(each, currency)} each"
        for total, share, each in zip(
            segment_summary["revenue"],
            segment_summary["revenue_share"],
            segment_summary["revenue_per_customer"],
            strict=True,
        )
    ]
    unfilled = segment_summary.loc[segment_summary["unfilled"], "segment_name"]
    title = "Customers and revenue per segment" + (
        f" (unfilled: {', '.join(unfilled)})" if len(unfilled) else ""
    )
    revenue_axis = f"revenue ({currency})"
    plotly_figure = make_subplots(
        rows=1, cols=2, subplot_titles=["Customers", f"Revenue ({currency})"]
    )
    for col, (values, labels) in enumerate(
        (
            (segment_summary["customers"], customers),
            (segment_summary["revenue"], [t.replace("\n", "<br>") for t in revenue]),
        ),
        start=1,
    ):
        plotly_figure.add_trace(
            go.Bar(
                x=names,
                y=values,
                text=labels,
                textposition="outside",
                marker_color=colours,
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    plotly_figure.update_yaxes(title_text="customers", row=1, col=1)
    plotly_figure.update_yaxes(title_text=revenue_axis, row=1, col=2)
    plotly_figure.update_layout(title=title)
    figure = Figure(figsize=(13, 5), layout="constrained")
    left, right = figure.subplots(1, 2)
    for ax, values, labels, ylabel in (
        (left, segment_summary["customers"], customers, "customers"),
        (right, segment_summary["revenue"], revenue, revenue_axis),
    ):
        bars = ax.bar(names, values, color=colours)
        ax.bar_label(bars, labels=labels, padding=2, fontsize=7.5)
        ax.set_ylim(0, max(values.max(), 1) * 1.25)
        ax.tick_params(axis="x", labelrotation=15)
        ax.set(ylabel=ylabel)
    left.set_title("Customers")
    right.set_title(f"Revenue ({currency})")
    right.yaxis.set_major_formatter(lambda value, _: money(value, currency))
    figure.suptitle(title)
    return plotly_figure, figure


def stability(
    segment_stability: pd.DataFrame, segment_profile: SegmentProfile
) -> tuple[go.Figure, Figure]:
    """Agreement with refits under other seeds and on bootstrap resamples: overall
    adjusted Rand index and each cluster's best Jaccard overlap (1: unchanged), in
    the segments' colours (seeds round, resamples triangles)."""
    long = stability_by_segment(segment_stability, segment_profile)
    order = ["overall (ARI)", *segment_order(segment_profile.naming.cluster_names)]
    colour = {name: GREY if name == order[0] else _colour(name) for name in order}
    title = "Stability across seeds and bootstrap resamples"
    axis = "agreement with the refit (1 = the same customers)"
    runs = (("seed", "o", "circle", -0.12), ("bootstrap", "^", "triangle-up", 0.12))
    plotly_figure = go.Figure(
        [
            go.Scatter(
                x=part["segment_name"],
                y=part["agreement"],
                mode="markers",
                name=run,
                marker={
                    "symbol": symbol,
                    "size": 10,
                    "color": [colour[n] for n in part["segment_name"]],
                },
            )
            for run, _, symbol, _ in runs
            for part in [long[long["run"] == run]]
        ]
    )
    plotly_figure.update_xaxes(categoryorder="array", categoryarray=order)
    plotly_figure.update_layout(title=title, yaxis={"range": [0, 1.05], "title": axis})
    figure = Figure(figsize=(8, 4), layout="constrained")
    ax = figure.subplots()
    for run, marker, _, offset in runs:
        part = long[long["run"] == run]
        x = [order.index(name) + offset for name in part["segment_name"]]
        ax.scatter(
            x,
            part["agreement"],
            marker=marker,
            label=run,
            alpha=0.8,
            color=[colour[n] for n in part["segment_name"]],
            edgecolor="black",
            linewidth=0.4,
        )
    ax.set_xticks(range(len(order)), order, rotation=15)
    ax.set(ylim=(0, 1.05), ylabel=axis, title=title)
    ax.legend()
    return plotly_figure, figure


def rfm_distributions(
    customer_segments: pd.DataFrame, currency: str
) -> tuple[go.Figure, Figure]:
    """Recency, frequency and monetary per segment as box plots (median, quartiles,
    whiskers at 1.5 IQR; log scale for the skewed two), drawn from summaries."""
    names = _present_segments(customer_segments)
    labels = axis_labels(currency)
    plotly_figure = make_subplots(
        rows=1, cols=3, subplot_titles=[labels[f] for f in FEATURES]
    )
    figure = Figure(figsize=(13, 4.5), layout="constrained")
    axes = figure.subplots(1, 3)
    grouped = customer_segments.groupby("segment_name", observed=True)
    for col, (feature, ax) in enumerate(zip(FEATURES, axes, strict=True), start=1):
        stats = [_box_stats(grouped.get_group(n)[feature].to_numpy()) for n in names]
        for name, box in zip(names, stats, strict=True):
            plotly_figure.add_trace(
                go.Box(
                    x=[name],
                    q1=[box["q1"]],
                    median=[box["med"]],
                    q3=[box["q3"]],
                    lowerfence=[box["whislo"]],
                    upperfence=[box["whishi"]],
                    name=name,
                    marker_color=_colour(name),
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
        boxes = ax.bxp(
            [{**box, "label": name} for name, box in zip(names, stats, strict=True)],
            showfliers=False,
            patch_artist=True,
            medianprops={"color": "black"},
        )
        for patch, name in zip(boxes["boxes"], names, strict=True):
            patch.set_facecolor(_colour(name))
        ax.tick_params(axis="x", labelrotation=30)
        ax.set_ylabel(labels[feature])
        if feature != "recency":
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(lambda value, _: f"{value:,g}")
            plotly_figure.update_yaxes(type="log", row=1, col=col)
        plotly_figure.update_yaxes(title_text=labels[feature], row=1, col=col)
    axes[FEATURES.index("monetary")].yaxis.set_major_formatter(
        lambda value, _: money(value, currency)
    )
    title = "Recency, frequency and spend per segment"
    plotly_figure.update_layout(title=title)
    figure.suptitle(title)
    return plotly_figure, figure


def _box_stats(values: np.ndarray) -> dict[str, float]:
    """Quartiles and whiskers (the furthest values within 1.5 IQR), as matplotlib's
    ``bxp`` takes them."""
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    reach = 1.5 * (q3 - q1)
    return {
        "q1": float(q1),
        "med": float(median),
        "q3": float(q3),
        "whislo": float(values[values >= q1 - reach].min()),
        "whishi": float(values[values <= q3 + reach].max()),
    }


def customer_scatter(
    customer_segments: pd.DataFrame, currency: str
) -> tuple[go.Figure, Figure]:
    """Recency against monetary for a seeded sample of customers, coloured by
    segment."""
    sample = customer_segments.sample(
        min(len(customer_segments), SCATTER_SAMPLE), random_state=0
    )
    names = _present_segments(sample)
    labels = axis_labels(currency)
    title = (
        f"Customers by recency and spend ({len(sample):,} of "
        f"{len(customer_segments):,} drawn)"
    )
    plotly_figure = px.scatter(
        sample,
        x="recency",
        y="monetary",
        color="segment_name",
        log_y=True,
        hover_data=["frequency"],
        color_discrete_map={n: _colour(n) for n in names},
        category_orders={"segment_name": names},
        labels={**labels, "segment_name": "segment"},
        title=title,
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
        xlabel=labels["recency"],
        ylabel=labels["monetary"],
        yscale="log",
        title=title,
    )
    ax.yaxis.set_major_formatter(lambda value, _: money(value, currency))
    ax.legend(markerscale=3)
    return plotly_figure, figure


SNAKE_MEASURES = {  # measure -> (its label, +1 where higher is better)
    "recency": ("bought recently\n(recency, turned round)", -1),
    "frequency": ("buys often\n(frequency)", 1),
    "monetary": ("spends a lot\n(monetary)", 1),
}
SNAKE_AXIS = "compared with the average customer (standard deviations; higher = better)"


def snake_plot(customer_segments: pd.DataFrame) -> tuple[go.Figure, Figure]:
    """How each segment compares with the average customer on each measure: the
    segment's mean of the standardized log1p values, recency turned round so that
    higher is better on all three (0: the average customer)."""
    logged = np.log1p(customer_segments[FEATURES])
    standardized = (logged - logged.mean()) / logged.std(ddof=0)
    for feature, (_, better) in SNAKE_MEASURES.items():
        standardized[feature] *= better
    means = standardized.groupby(customer_segments["segment_name"]).mean()
    means = means.loc[_present_segments(customer_segments)]
    words = [SNAKE_MEASURES[f][0] for f in FEATURES]
    plotly_words = [word.replace("\n", "<br>") for word in words]
    title = "How each segment compares with the average customer"
    plotly_figure = go.Figure(
        [
            go.Scatter(
                x=plotly_words,
                y=row.to_numpy(),
                mode="lines+markers",
                name=name,
                line={"color": _colour(name)},
            )
            for name, row in means.iterrows()
        ]
    )
    plotly_figure.add_hline(y=0, line_color=GREY, annotation_text="average customer")
    plotly_figure.update_layout(title=title, yaxis_title=SNAKE_AXIS)
    figure = Figure(figsize=(9, 4.5), layout="constrained")
    ax = figure.subplots()
    for name, row in means.iterrows():
        ax.plot(words, row.to_numpy(), marker="o", color=_colour(name), label=name)
    ax.axhline(0, color=GREY, linewidth=0.8)
    ax.annotate("average customer", (0, 0), xytext=(2, 3), textcoords="offset points")
    ax.set(ylabel="vs the average customer (SD; higher = better)", title=title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    return plotly_figure, figure


def k_selection_curves(
    k_selection: pd.DataFrame, n_clusters: int
) -> tuple[go.Figure, Figure]:
    """Elbow (inertia) and silhouette against k, with the k in use marked and why."""
    best = k_selection.loc[k_selection["silhouette"].idxmax()]
    used = k_selection.loc[k_selection["k"] == n_clusters, "silhouette"]
    why = _why_k(n_clusters, int(best["k"]), best["silhouette"], used)
    plotly_figure = make_subplots(
        rows=1, cols=2, subplot_titles=["Elbow", "Silhouette (sampled)"]
    )
    plotly_figure.add_trace(
        go.Scatter(x=k_selection["k"], y=k_selection["inertia"], name="inertia"), 1, 1
    )
    plotly_figure.add_trace(
        go.Scatter(x=k_selection["k"], y=k_selection["silhouette"], name="silhouette"),
        1,
        2,
    )
    for col in (1, 2):
        plotly_figure.add_vline(
            x=n_clusters, line_dash="dash", line_color=GREY, row=1, col=col
        )
    plotly_figure.update_xaxes(title_text="k (number of clusters)")
    plotly_figure.update_yaxes(title_text="inertia (within-cluster spread)", col=1)
    plotly_figure.update_yaxes(title_text="silhouette (-1 to 1, higher = apart)", col=2)
    plotly_figure.update_layout(
        title=f"Choosing k: {why.replace(chr(10), ' ')}", title_font_size=13
    )
    figure = Figure(figsize=(11, 4.6), layout="constrained")
    elbow, silhouette = figure.subplots(1, 2)
    elbow.plot(k_selection["k"], k_selection["inertia"], marker="o")
    elbow.set(
        title="Elbow",
        xlabel="k (number of clusters)",
        ylabel="inertia (within-cluster spread)",
    )
    silhouette.plot(
        k_selection["k"], k_selection["silhouette"], marker="o", color="#e76f51"
    )
    silhouette.set(
        title="Silhouette (sampled)",
        xlabel="k (number of clusters)",
        ylabel="silhouette (-1 to 1, higher = apart)",
    )
    for ax in (elbow, silhouette):
        ax.axvline(n_clusters, linestyle="--", color=GREY)
        ax.annotate(
            f"k = {n_clusters} in use",
            (n_clusters, 1),
            xycoords=("data", "axes fraction"),
            xytext=(4, -12),
            textcoords="offset points",
        )
    figure.suptitle(f"Choosing k: {why}", fontsize=10)
    return plotly_figure, figure


def _why_k(k: int, best_k: int, best: float, used: pd.Series) -> str:
    """Why the k in use: the four names need four groups; what the silhouette says."""
    reason = (
        f"k = {k}: the {len(SEGMENT_NAMES)} names need {k} groups"
        if k == len(SEGMENT_NAMES)
        else f"k = {k} (clustering.n_clusters)"
    )
    if len(used) and best_k != k:
        return (
            f"{reason};\nthe silhouette alone prefers k = {best_k} ({best:.2f} "
            f"against {used.iloc[0]:.2f} at k = {k}): fewer groups than names"
        )
    if len(used):
        return f"{reason}, and the silhouette agrees ({best:.2f})"
    return reason


def _present_segments(customer_segments: pd.DataFrame) -> list[str]:
    return segment_order(customer_segments["segment_name"].unique())
