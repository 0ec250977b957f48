"""Figures of segments over time: the last transition as a Sankey (Plotly) or
alluvial (matplotlib) diagram, and segment sizes at each snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from rfm_segmentation.history import ENTERED, SegmentHistory
from rfm_segmentation.segments import segment_colour, segment_order

GREY = "#bbbbbb"


def _colour(name: str) -> str:
    return GREY if name in (ENTERED,) else segment_colour(name)


def _translucent(colour: str, alpha: float = 0.4) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def _order(names) -> list[str]:
    named = segment_order({n for n in names if n not in (ENTERED,)})
    return [*named, *(n for n in (ENTERED,) if n in set(names))]


def migration_sankey(segment_migrations: pd.DataFrame) -> tuple[go.Figure, Figure]:
    """Where each segment's customers went in the last transition."""
    if segment_migrations.empty:
        return _no_migrations()
    last = segment_migrations[
        segment_migrations["to"] == segment_migrations["to"].max()
    ]
    start, end = last["from"].iloc[0], last["to"].iloc[0]
    sources, targets = _order(last["from_segment"]), _order(last["to_segment"])
    title = f"Segment migrations from {start} to {end} (customers)"
    sizes = {
        **{
            ("from", n): last.loc[last["from_segment"] == n, "customers"].sum()
            for n in sources
        },
        **{
            ("to", n): last.loc[last["to_segment"] == n, "customers"].sum()
            for n in targets
        },
    }
    labels = [f"{n} ({sizes['from', n]:,})" for n in sources] + [
        f"{n} ({sizes['to', n]:,})" for n in targets
    ]
    plotly_figure = go.Figure(
        go.Sankey(
            valueformat=",d",
            valuesuffix=" customers",
            node={
                "label": labels,
                "color": [_colour(n) for n in (*sources, *targets)],
                "pad": 12,
            },
            link={
                "source": [sources.index(s) for s in last["from_segment"]],
                "target": [len(sources) + targets.index(t) for t in last["to_segment"]],
                "value": last["customers"].tolist(),
                "color": [_translucent(_colour(s)) for s in last["from_segment"]],
                "hovertemplate": "%{source.label} → %{target.label}: %{value}",
            },
        )
    )
    plotly_figure.update_layout(title=title)
    return plotly_figure, _alluvial(last, sources, targets, title)


def _no_migrations() -> tuple[go.Figure, Figure]:
    text = (
        "Migrations need two snapshots; the data covers one (docs: Segments over time)"
    )
    plotly_figure = go.Figure()
    plotly_figure.add_annotation(text=text, showarrow=False)
    figure = Figure(figsize=(9, 2), layout="constrained")
    ax = figure.subplots()
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.axis("off")
    return plotly_figure, figure


def _alluvial(
    last: pd.DataFrame, sources: list[str], targets: list[str], title: str
) -> Figure:
    """Two stacked columns joined by bands as wide as each flow."""
    figure = Figure(figsize=(9, 5.5), layout="constrained")
    ax = figure.subplots()
    total, gap, width = last["customers"].sum(), last["customers"].sum() * 0.02, 0.08
    tops = {}
    for x, names, column in (
        (0.0, sources, "from_segment"),
        (1.0, targets, "to_segment"),
    ):
        y = 0.0
        for name in names:
            size = last.loc[last[column] == name, "customers"].sum()
            ax.add_patch(
                Rectangle((x - width / 2, y), width, size, color=_colour(name))
            )
            ax.text(
                x + (-width if x == 0 else width),
                y + size / 2,
                f"{name} ({size:,})",
                ha="right" if x == 0 else "left",
                va="center",
                fontsize=9,
            )
            tops[column, name] = y
            y += size + gap
    curve = (1 - np.cos(np.linspace(0, np.pi, 50))) / 2
    xs = width / 2 + (1 - width) * np.linspace(0, 1, 50)
    for _, flow in last.iterrows():
        low = tops["from_segment", flow.from_segment]
        high = tops["to_segment", flow.to_segment]
        bottom = low + (high - low) * curve
        ax.fill_between(
            xs,
            bottom,
            bottom + flow.customers,
            color=_colour(flow.from_segment),
            alpha=0.35,
        )
        if flow.customers >= total * 0.015:  # a count where the band has room
            ax.text(  # at the band's start, where bands do not cross yet
                xs[1],
                bottom[1] + flow.customers / 2,
                f"{flow.customers:,} → {flow.to_segment}",
                ha="left",
                va="center",
                fontsize=7,
            )
        tops["from_segment", flow.from_segment] += flow.customers
        tops["to_segment", flow.to_segment] += flow.customers
    ax.set(xlim=(-0.6, 1.6), ylim=(total * 1.1, -gap), title=title)
    ax.axis("off")
    return figure


def segment_sizes_over_time(
    segment_history: SegmentHistory,
) -> tuple[go.Figure, Figure]:
    """Customers in each segment at each snapshot."""
    sizes = segment_history.sizes()
    title = "Customers per segment at each snapshot"
    plotly_figure = go.Figure(
        [
            go.Scatter(
                x=sizes.index,
                y=sizes[name],
                name=name,
                mode="lines+markers",
                line={"color": segment_colour(name)},
            )
            for name in sizes.columns
        ]
    )
    plotly_figure.update_layout(
        title=title, yaxis_title="customers", xaxis_title="snapshot date"
    )
    figure = Figure(figsize=(9, 4), layout="constrained")
    ax = figure.subplots()
    for name in sizes.columns:
        ax.plot(
            sizes.index, sizes[name], marker="o", color=segment_colour(name), label=name
        )
    ax.tick_params(axis="x", labelrotation=30)
    ax.set(ylabel="customers", xlabel="snapshot date", title=title)
    ax.legend()
    return plotly_figure, figure
