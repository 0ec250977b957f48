"""The documentation site builds strictly and shows what the code defines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rfm_segmentation.api.app import create_app
from rfm_segmentation.segments import RULES, SEGMENTS

from .support import REPO, registered_pipelines

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            str(Path(sys.executable).parent / "mkdocs"),
            "build",
            "--strict",
            "--site-dir",
            str(site),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "NO_MKDOCS_2_WARNING": "1",
            "KEDRO_DISABLE_TELEMETRY": "true",
        },
    )
    return site


def test_api_page_lists_every_endpoint_of_the_app(site):
    page = (site / "api" / "index.html").read_text()
    endpoints = [
        (method.upper(), path)
        for path, operations in create_app().openapi()["paths"].items()
        for method in operations
    ]
    assert len(endpoints) == 13  # the two lists of customers too
    for method, path in endpoints:
        assert f"<code>{method} {path}</code>" in page


def test_segments_page_is_rendered_from_the_segments_module(site):
    page = (site / "segments" / "index.html").read_text()
    for segment in SEGMENTS:
        assert segment.name in page
        assert (
            segment.strategy.replace("'", "&#39;") in page or segment.strategy in page
        )
    for rule in RULES:
        assert rule.text in page
    assert "at most 0.5 times the median tenure" in page


def test_pipelines_page_draws_every_registered_node(site):
    page = (site / "pipelines" / "index.html").read_text()
    for node in (
        "validate_transactions",
        "compute_rfm_features",
        "train_segmentation_model",
        "plot_snake_plot",
    ):
        assert f"{node}[[{node}]]" in page


def test_home_page_names_every_registered_pipeline(site):
    page = (site / "index.html").read_text()
    pipelines_item = page.split("<strong>Pipelines</strong>")[1].split("</li>")[0]
    for name in registered_pipelines():
        assert f"<code>{name}</code>" in pipelines_item


def test_the_site_publishes_no_python_source(site):
    assert not (site / "hooks.py").exists()
    assert list(site.rglob("*.py")) == []
