"""kedro-viz sees the pipelines and every catalog entry, with layers it can order:
the layer graph of the registered pipelines (fast, by kedro-viz's own sorting) and
the built site (slow)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from kedro.framework.project import configure_project, pipelines, settings
from kedro.io.catalog_config_resolver import CatalogConfigResolver
from kedro_viz.services.layers import sort_layers

from .support import REPO

KEDRO = str(Path(sys.executable).parent / "kedro")
ENV = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
PIPELINES = {
    "data_processing",
    "feature_engineering",
    "clustering",
    "reporting",
    "segment_history",
}


# Kedro's data engineering convention, and the release last: it publishes the model,
# the tables and the report page
LAYERS = [
    "raw",
    "intermediate",
    "primary",
    "feature",
    "model_input",
    "models",
    "model_output",
    "reporting",
    "release",
]
ENVS = [None, "pandas", "spark", "uci_xlsx"]


def layers_in_order(pipeline_name: str, env: str | None) -> list[str]:
    """The layers of a registered pipeline as kedro-viz orders them (its own
    ``sort_layers``, on the pipeline's nodes and the env's catalog layers); empty
    when they form a cycle (kedro-viz then shows no layers, with a warning)."""
    configure_project("rfm_segmentation")
    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(REPO / settings.CONF_SOURCE),
        env=env,
        **settings.CONFIG_LOADER_ARGS,
    )
    resolver = CatalogConfigResolver(loader["catalog"])
    graph: dict[str, SimpleNamespace] = {}
    children: dict[str, set[str]] = defaultdict(set)
    for node in pipelines[pipeline_name].nodes:
        graph[node.name] = SimpleNamespace(layer=None)
        for dataset in (*node.inputs, *node.outputs):
            config = resolver.resolve_pattern(dataset)
            layer = config.get("metadata", {}).get("kedro-viz", {}).get("layer")
            assert layer or dataset.startswith("params:"), f"{dataset} has no layer"
            graph[dataset] = SimpleNamespace(layer=layer)
        for dataset in node.inputs:
            children[dataset].add(node.name)
        children[node.name].update(node.outputs)
    return sort_layers(graph, children)


@pytest.mark.parametrize("env", ENVS)
def test_every_registered_pipeline_has_layers_without_a_cycle(env):
    assert layers_in_order("__default__", env) == LAYERS
    for name in set(pipelines) - {"__default__"}:
        assert layers_in_order(name, env), f"a cycle among the layers of {name}"


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
def viz_build(trained_project) -> tuple[Path, str]:
    built = subprocess.run(
        [KEDRO, "viz", "build", "--include-previews"],
        cwd=trained_project,
        env=ENV,
        check=True,
        capture_output=True,
        text=True,
    )
    return trained_project / "build", built.stdout + built.stderr


@pytest.mark.slow
def test_built_site_holds_the_pipelines_and_every_dataset_with_its_layer(viz_build):
    viz_build, output = viz_build
    assert "circular dependency" not in output
    assert "Warning" not in output  # kedro-viz's own deprecations are filtered
    graph = json.loads((viz_build / "api" / "main").read_text())
    assert graph["layers"] == LAYERS
    assert {p["id"] for p in graph["pipelines"]} >= PIPELINES
    data_nodes = {
        node["name"]: node for node in graph["nodes"] if node["type"] == "data"
    }
    assert pipeline_datasets() <= set(data_nodes)
    assert all(data_nodes[name].get("layer") for name in pipeline_datasets())
    assert (viz_build / "index.html").exists()


@pytest.mark.slow
def test_previews_are_exported_for_tables_and_figures(viz_build):
    viz_build, _ = viz_build
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


@pytest.mark.slow
def test_viz_server_lists_every_pipeline(trained_project, tmp_path):
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
        start_new_session=True,  # `kedro viz run` serves from a child process
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
        _stop_group(server)
    deadline = time.monotonic() + 10
    while _answers(port):
        assert time.monotonic() < deadline, "kedro viz still serving after SIGTERM"
        time.sleep(0.2)


def _stop_group(server: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (its child serves), SIGKILL if it
    lingers; a group already gone is fine."""
    for stop, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, stop)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=wait)
            return


def _answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/api/main", timeout=2)
    except httpx.ConnectError:
        return False
    return True
