"""One self-contained HTML page for the people who act on the segments: sizes and
revenue, what each segment means and what to do, the month's biggest moves and how
well the names fit. Plotly's JavaScript is embedded from the installed package and a
Content-Security-Policy lets the page load nothing from anywhere."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from rfm_segmentation.profile import SegmentInfo, SegmentProfile

# Inline script and style only (Plotly's own and the figure's); no host at all.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:"
)
STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:64rem;padding:1rem 1.5rem;
color:#1d2a33;line-height:1.45}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #d8dee4}
.lead{color:#52606d;margin-top:0}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{padding:.35rem .6rem;border-bottom:1px solid #e4e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}
.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;
margin-right:.4rem;vertical-align:-1px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr));gap:1rem}
.card{border:1px solid #d8dee4;border-left:6px solid;border-radius:4px;padding:.6rem 1rem}
.card h3{margin:.2rem 0}.card p{margin:.4rem 0}.muted{color:#52606d}
"""


def build_report(
    segment_profile: SegmentProfile, migration_highlights: pd.DataFrame
) -> str:
    """The report page of one run: the profile's segments (sizes, revenue in its
    currency, description, strategy, fit) and the biggest moves of the last month,
    each linked to its list of customers where ``movers_file`` names one (a path
    relative to the page)."""
    profile = segment_profile
    title = f"Customer segments as of {profile.as_of.isoformat()}"
    total = sum(s.revenue.total for s in profile.segments)
    sections = "\n".join(
        (
            _overview(profile, total),
            _segment_cards(profile.segments, profile.currency),
            _moves(migration_highlights),
            _fit(profile),
        )
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{STYLE}</style>
<script>{get_plotlyjs()}</script>
</head>
<body>
<h1>{escape(title)}</h1>
<p class="lead">{profile.n_customers:,} customers, {_money(total, profile.currency)}
revenue, segmented by recency, frequency and monetary value.</p>
{sections}
</body>
</html>
"""


def _overview(profile: SegmentProfile, total: float) -> str:
    rows = "\n".join(
        f"<tr><td>{_name(s)}</td><td>{s.customers:,}</td><td>{s.share:.1%}</td>"
        f"<td>{_money(s.revenue.total, profile.currency)}</td>"
        f"<td>{s.revenue.share:.1%}</td>"
        f"<td>{_money(s.revenue.per_customer, profile.currency)}</td></tr>"
        for s in profile.segments
    )
    chart = _chart(profile).to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id="segment-sizes",
        config={"displayModeBar": False, "responsive": True},
    )
    return f"""<h2>Segment sizes and revenue</h2>
{chart}
<table>
<thead><tr><th>segment</th><th>customers</th><th>share</th>
<th>revenue ({escape(profile.currency)})</th><th>revenue share</th>
<th>revenue per customer</th></tr></thead>
<tbody>
{rows}
<tr><th>all</th><th>{profile.n_customers:,}</th><th>100%</th>
<th>{_money(total, profile.currency)}</th><th>100%</th>
<th>{_money(total / profile.n_customers, profile.currency)}</th></tr>
</tbody>
</table>"""


def _chart(profile: SegmentProfile) -> go.Figure:
    """Customers and revenue per segment: two bar charts of five bars each."""
    segments = list(reversed(profile.segments))  # top to bottom in segment order
    names = [s.segment_name for s in segments]
    colours = [s.colour for s in segments]
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=["Customers", f"Revenue ({profile.currency})"],
        shared_yaxes=True,
        horizontal_spacing=0.04,
    )
    for col, (values, texts) in enumerate(
        (
            (
                [s.customers for s in segments],
                [f"{s.customers:,} ({s.share:.0%})" for s in segments],
            ),
            (
                [s.revenue.total for s in segments],
                [
                    f"{_money(s.revenue.total, profile.currency)} "
                    f"({s.revenue.share:.0%})"
                    for s in segments
                ],
            ),
        ),
        start=1,
    ):
        figure.add_trace(
            go.Bar(
                x=values,
                y=names,
                orientation="h",
                marker_color=colours,
                text=texts,
                textposition="auto",
                hoverinfo="y+text",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
    figure.update_xaxes(showticklabels=False, showgrid=False)
    figure.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        plot_bgcolor="white",
        uniformtext={"minsize": 9, "mode": "hide"},
    )
    return figure


def _segment_cards(segments: list[SegmentInfo], currency: str) -> str:
    cards = "\n".join(
        f"""<div class="card" style="border-left-color:{escape(s.colour)}">
<h3>{escape(s.segment_name)}</h3>
<p class="muted">{_size_line(s, currency)}</p>
<p>{escape(s.description)}</p>
<p><strong>What to do:</strong> {escape(s.strategy)}</p>
</div>"""
        for s in segments
    )
    return f"""<h2>What each segment means and what to do</h2>
<div class="cards">
{cards}
</div>"""


def _size_line(segment: SegmentInfo, currency: str) -> str:
    if segment.unfilled:
        return "No customers: no cluster's centre meets this name's rules."
    if not segment.customers:
        return "No customers this time."
    median = segment.median
    return (
        f"{segment.customers:,} customers; typically bought "
        f"{median.recency:g} days ago, {_times(median.frequency)}, "
        f"spending {_money(median.monetary, currency)} in all (medians)."
    )


def _times(count: float) -> str:
    return "once" if count == 1 else f"{count:g} times"


def _moves(highlights: pd.DataFrame) -> str:
    if highlights.empty:
        return (
            "<h2>Biggest moves</h2>\n<p>No moves between segments: the history has "
            "fewer than two snapshots.</p>"
        )
    last = highlights.iloc[0]
    items = "\n".join(
        f"<li>{escape(row['summary'])}{_movers_link(row)}</li>"
        for _, row in highlights.iterrows()
    )
    return f"""<h2>Biggest moves, {escape(str(last["from"]))} to {escape(str(last["to"]))}</h2>
<ol>
{items}
</ol>"""


def _movers_link(row: pd.Series) -> str:
    path = row.get("movers_file")
    if not isinstance(path, str) or not path:
        return ""
    if path.startswith(("/", "\\")) or ":" in path or ".." in path.split("/"):
        raise ValueError(
            f"migration_highlights: movers_file {path!r} is not a path relative to "
            "the report's folder"
        )
    return f' &middot; <a href="{escape(quote(path))}">their customer ids (CSV)</a>'


def _fit(profile: SegmentProfile) -> str:
    fit = profile.customer_fit
    moved = sum(fit.moved.values())
    reasons = "\n".join(
        f"<li>{escape(reason.removeprefix('moved: '))}: {count:,}</li>"
        for reason, count in sorted(fit.moved.items(), key=lambda item: -item[1])
    )
    rules = "\n".join(
        f"<tr><td>{escape(check.rule)}</td><td>{_holds(check.holds)}</td>"
        f"<td>{'' if check.margin is None else f'{check.margin:.2f}'}</td></tr>"
        for check in profile.naming.rules
    )
    unfilled = profile.naming.unfilled_segments
    return f"""<h2>How well the names fit</h2>
<p>{fit.kept_share:.1%} of customers keep the name of their cluster.
{moved:,} moved to the nearest segment whose rules their own numbers meet, and
{fit.fifth_name:,} of them took the fifth name, Returning Customers, that no cluster
carries.{f" Unfilled (no cluster meets their rules): {escape(', '.join(unfilled))}." if unfilled else ""}</p>
<p>Moved, by the rule of their cluster's name that their own numbers break:</p>
<ul>
{reasons}
</ul>
<p>The names go to clusters by rules on their centres
(margin: how far a rule holds, in log units; negative: broken). Agreement with refits
(adjusted Rand index, 1: identical): {profile.stability.seeds_ari:.2f} across seeds,
{profile.stability.bootstrap_ari:.2f} on bootstrap resamples.</p>
<table>
<thead><tr><th>rule</th><th>holds</th><th>margin</th></tr></thead>
<tbody>
{rules}
</tbody>
</table>"""


def _holds(holds: bool | None) -> str:
    return {True: "yes", False: "no", None: "not checked"}[holds]


def _name(segment: SegmentInfo) -> str:
    return (
        f'<span class="swatch" style="background:{escape(segment.colour)}"></span>'
        f"{escape(segment.segment_name)}"
    )


def _money(amount: float, currency: str) -> str:
    """``5.87M GBP``, ``268,420 GBP``, ``452.65 GBP``: readable at a glance."""
    if abs(amount) >= 1e6:
        return f"{amount / 1e6:,.2f}M {currency}"
    return (
        f"{amount:,.0f} {currency}"
        if abs(amount) >= 1e4
        else f"{amount:,.2f} {currency}"
    )
