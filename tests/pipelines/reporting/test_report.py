"""The report page: what it says, and that it refers to nothing outside itself."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from rfm_segmentation.pipelines.reporting.report import build_report
from rfm_segmentation.profile import SegmentProfile
from rfm_segmentation.slices import pipeline_of, run_slice

from ...support import four_groups

# an attribute or CSS url() that makes a browser fetch or go somewhere
EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|action|srcset)\s*=\s*["']?|url\(\s*["']?)(?:[a-z]+:)?//""",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def profile(params) -> SegmentProfile:
    clustered = run_slice(
        pipeline_of("clustering"), {"rfm_features": four_groups()}, params
    )
    return clustered["segment_profile"]


def highlights(**columns) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "from": ["2011-11-01", "2011-11-01"],
            "to": ["2011-12-10", "2011-12-10"],
            "from_segment": ["Champions", "entered"],
            "to_segment": ["At-Risk", "New Customers"],
            "customers": [108, 40],
            "share": [0.2, 0.9],
            "summary": [
                "108 Champions became At-Risk (20%) between 2011-11-01 and 2011-12-10",
                "40 new customers became New Customers (90%) between ...",
            ],
            **columns,
        }
    )


def page_without_plotly(html: str) -> str:
    """The page less Plotly's embedded bundle (checked once, as a whole)."""
    bundle = get_plotlyjs()
    assert html.count(bundle) == 1
    return html.replace(bundle, "")


def test_the_report_says_when_what_how_big_and_what_to_do(profile):
    html = build_report(profile, highlights())
    text = page_without_plotly(html)
    assert f"Customer segments as of {profile.as_of.isoformat()}" in text
    for segment in profile.segments:
        assert segment.segment_name in text
        assert segment.description in text
        assert segment.strategy in text
        assert f"{segment.customers:,}" in text
    assert profile.currency in text
    assert f"{profile.customer_fit.kept_share:.1%} of customers keep" in text
    for rule in profile.naming.rules:
        assert rule.rule in text
    assert "108 Champions became At-Risk (20%)" in text


def test_each_move_links_its_movers_file_when_it_has_one(profile):
    html = build_report(
        profile,
        highlights(movers_file=["movers/champions_to_at_risk.csv", None]),
    )
    links = re.findall(r'href="([^"]*)"', page_without_plotly(html))
    assert links == ["movers/champions_to_at_risk.csv"]
    assert "href=" not in page_without_plotly(build_report(profile, highlights()))


def test_the_page_refers_to_no_other_host(profile):
    text = page_without_plotly(
        build_report(profile, highlights(movers_file=["movers/a b.csv", None]))
    )
    assert not EXTERNAL.search(text), EXTERNAL.search(text)
    assert "<link" not in text
    assert not re.search(r"<script\b[^>]*\bsrc", text)
    assert 'href="movers/a%20b.csv"' in text
    assert "default-src 'none'" in text  # the browser refuses any fetch besides


@pytest.mark.parametrize(
    "path", ["javascript:alert(1)", "//elsewhere/x.csv", "/etc/passwd", "../x.csv"]
)
def test_a_movers_file_outside_the_reports_folder_is_refused(profile, path):
    with pytest.raises(ValueError, match=r"movers_file .* is not a path relative"):
        build_report(profile, highlights(movers_file=[path, None]))


def test_no_moves_says_so(profile):
    html = build_report(profile, highlights().iloc[0:0])
    assert "No moves between segments" in html
