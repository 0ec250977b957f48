from __future__ import annotations

import re

import pytest

from rfm_segmentation.segments import (
    customer_rules_markdown,
    rules_markdown,
    segments_markdown,
)

from .support import REPO, base_parameters, registered_pipelines


def block(name: str) -> str:
    readme = (REPO / "README.md").read_text()
    return readme.split(f"<!-- {name}:start -->\n")[1].split(f"\n<!-- {name}:end -->")[
        0
    ]


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("segments", segments_markdown),
        ("rules", lambda: rules_markdown(base_parameters()["naming"])),
        (
            "customer-rules",
            lambda: customer_rules_markdown(base_parameters()["naming"]),
        ),
    ],
)
def test_readme_segment_blocks_are_rendered_from_the_segments_module(name, render):
    assert block(name) == render(), (
        f"README's {name} block is stale: replace it with the output of "
        "rfm_segmentation.segments.segments_markdown() / rules_markdown(naming) / "
        "customer_rules_markdown(naming)"
    )


def test_readme_pipeline_table_has_a_row_per_registered_pipeline():
    section = (REPO / "README.md").read_text().split("[start:pipelines]")[1]
    rows = re.findall(r"^\| `(\w+)` \|", section.split("[end:pipelines]")[0], re.M)
    assert set(rows) == registered_pipelines(), (
        "README's pipeline table (Pipelines and catalog) needs one row per pipeline "
        "that find_pipelines registers"
    )
