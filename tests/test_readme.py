from __future__ import annotations

import pytest

from rfm_segmentation.segments import (
    customer_rules_markdown,
    rules_markdown,
    segments_markdown,
)

from .support import REPO, base_parameters


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
