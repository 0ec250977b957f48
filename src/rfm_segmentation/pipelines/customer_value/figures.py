"""The backtest's figure: the interactive Plotly one (kedro-viz) and a static
matplotlib one (PNG), as in the reporting pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

from rfm_segmentation.segments import segment_colour, segment_order

MAX_REPEATS = 7  # calibration repeat purchases shown one by one; more are pooled


def calibration_vs_holdout(
    customer_value_holdout: pd.DataFrame,
) -> tuple[go.Figure, Figure]:
    """Mean predicted against actual holdout purchases per customer, by the number
    of repeat purchases in the calibration period (left, as in Fader, Hardie & Lee
    2005) and by segment at the cutoff (right)."""
    holdout = customer_value_holdout
    repeats = holdout["x"].clip(upper=MAX_REPEATS)
    by_x = holdout.groupby(repeats)[["predicted_purchases", "actual_purchases"]].mean()
    labels = [str(x) if x < MAX_REPEATS else f"{MAX_REPEATS}+" for x in by_x.index]
    names = segment_order(holdout["segment_name"].unique())
    by_segment = (
        holdout.groupby("segment_name")[["predicted_purchases", "actual_purchases"]]
        .mean()
        .loc[names]
    )
    bought_again = holdout.groupby("segment_name")["actual_purchases"].apply(
        lambda purchases: (purchases > 0).mean()
    )
    title = "Holdout purchases per customer: predicted (BG/NBD) and actual"
    left = "by repeat purchases in the calibration period"
    right = "by segment at the cutoff (label: share who bought again)"

    plotly_figure = make_subplots(rows=1, cols=2, subplot_titles=[left, right])
    for column, dash in (("actual_purchases", None), ("predicted_purchases", "dash")):
        plotly_figure.add_trace(
            go.Scatter(
                x=labels,
                y=by_x[column],
                name=column.split("_")[0],
                line={"dash": dash},
                legendgroup=column,
            ),
            1,
            1,
        )
        plotly_figure.add_trace(
            go.Bar(
                x=names,
                y=by_segment[column],
                name=column.split("_")[0],
                marker_color=[segment_colour(n) for n in names],
                marker_pattern_shape="/" if dash else "",
                showlegend=False,
                text=[f"{bought_again[n]:.0%}" for n in names] if not dash else None,
            ),
            1,
            2,
        )
    plotly_figure.update_layout(title=title, barmode="group")

    figure = Figure(figsize=(12, 4.5), layout="constrained")
    ax_x, ax_segment = figure.subplots(1, 2)
    ax_x.plot(labels, by_x["actual_purchases"], marker="o", label="actual")
    ax_x.plot(
        labels, by_x["predicted_purchases"], marker="o", ls="--", label="predicted"
    )
    ax_x.set(
        title=left,
        xlabel="repeat purchases before the cutoff",
        ylabel="mean purchases in the holdout",
    )
    ax_x.legend()
    positions = np.arange(len(names))
    colours = [segment_colour(n) for n in names]
    actual = ax_segment.bar(
        positions - 0.2, by_segment["actual_purchases"], 0.4, color=colours
    )
    ax_segment.bar(
        positions + 0.2,
        by_segment["predicted_purchases"],
        0.4,
        color=colours,
        alpha=0.45,
        hatch="//",
    )
    ax_segment.bar_label(actual, [f"{bought_again[n]:.0%}" for n in names])
    ax_segment.set_xticks(positions, names, rotation=15)
    ax_segment.set(title=right, ylabel="mean purchases in the holdout")
    ax_segment.legend(["actual", "predicted"])
    figure.suptitle(title)
    return plotly_figure, figure
