from __future__ import annotations

from rfm_segmentation.segments import segments_markdown

from .support import REPO


def test_readme_segments_table_is_rendered_from_the_segments_module():
    readme = (REPO / "README.md").read_text()
    block = readme.split("<!-- segments:start -->\n")[1].split(
        "\n<!-- segments:end -->"
    )[0]
    assert block == segments_markdown(), (
        "README's segment table is stale: replace it with the output of "
        "python -c 'from rfm_segmentation.segments import segments_markdown as m; print(m())'"
    )
