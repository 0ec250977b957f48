"""kedro-viz sees the five pipelines and every catalog entry, with layers."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from kedro.framework.project import configure_project, pipelines

pytestmark = pytest.mark.slow

KEDRO = str(Path(sys.executable).parent / "kedro")
ENV = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
PIPELINES = {
    "data_processing",
    "feature_engineering",
    "clustering",
    "reporting",
    "segment_history",
}


def viz_port() -> int:
    """A free port kedro-viz accepts: it refuses anything above 49151."""
    for port in random.sample(range(20_000, 49_000), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 49000")


def pipeline_datasets() -> set[str]:
    configure_project("rfm_segmentation")
    return {
        d for d in pipelines["__default__"].datasets() if not d.startswith("params:")
    }


@pytest.fixture(scope="module")
def viz_build(trained_project) -> Path:
    subprocess.run(
        [KEDRO, "viz", "build", "--include-previews"],
        cwd=trained_project,
        env=ENV,
        check=True,
        capture_output=True,
    )
    return trained_project / "build"


def test_built_site_holds_the_pipelines_and_every_dataset_with_its_layer(viz_build):
    graph = json.loads((viz_build / "api" / "main").read_text())
    assert {p["id"] for p in graph["pipelines"]} >= PIPELINES
    data_nodes = {
        node["name"]: node for node in graph["nodes"] if node["type"] == "data"
    }
    assert pipeline_datasets() <= set(data_nodes)
    assert all(data_nodes[name].get("layer") for name in pipeline_datasets())
    assert (viz_build / "index.html").exists()


def test_previews_are_exported_for_tables_and_figures(viz_build):
    graph = json.loads((viz_build / "api" / "main").read_text())
    ids = {
        node["name"]: node["id"] for node in graph["nodes"] if node["type"] == "data"
    }
    for dataset in (
        "rfm_features",
        "segment_summary",
        "snake_plot_plotly",
        "snake_plot_png",
    ):
        detail = json.loads((viz_build / "api" / "nodes" / ids[dataset]).read_text())
        assert detail.get("preview"), dataset


def test_viz_server_lists_the_five_pipelines(trained_project, tmp_path):
    port = viz_port()
    log = (tmp_path / "viz.log").open("w")
    server = subprocess.Popen(
        [
            KEDRO,
            "viz",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-browser",
        ],
        cwd=trained_project,
        env=ENV,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/main", timeout=2)
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, (tmp_path / "viz.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "kedro viz did not answer within 90 s"
            time.sleep(0.5)
        assert {p["id"] for p in response.json()["pipelines"]} >= PIPELINES
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
