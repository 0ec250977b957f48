"""Four real uvicorn workers (``python -m rfm_segmentation.api``) serve one release:
after a new one appears, every answer is from it at once after one reload call, and
within ``RFM_RELOAD_SECONDS`` without one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from ..support import RELEASES, make_project, newest_release, publish_copy
from .conftest import start_api

pytestmark = pytest.mark.slow

WORKERS = 4
RELOAD_SECONDS = 5  # the default
LOAD_SECONDS = 2  # a worker's load of a release, with room on a busy machine
REFERENCE = {"recency": 15, "frequency": 2, "monetary": 350.75}


def served(url: str, requests: int = 200) -> list[str]:
    """The release of each answer, each request on a new connection, so that the
    kernel hands them to the workers at large."""
    with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
        return [
            client.post(f"{url}/api/v1/segment", json=REFERENCE).json()["model_version"]
            for _ in range(requests)
        ]


def wait_for_lines(log, text: str, count: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while log.read_text().count(text) < count:
        assert time.monotonic() < deadline, f"{count} x {text!r} not logged in time"
        time.sleep(0.2)


def test_every_worker_answers_the_new_release_after_a_reload_and_by_itself(
    trained_project, tmp_path
):
    project = make_project(tmp_path / "project")
    first = newest_release(trained_project)
    shutil.copytree(
        trained_project / RELEASES / first.version, project / RELEASES / first.version
    )
    log = tmp_path / "stdout.log"
    with log.open("w") as stdout:
        server, url = start_api(
            project,
            stdout=stdout,
            ready_seconds=300,
            RFM_WORKERS=str(WORKERS),
            RFM_RELOAD_SECONDS=str(RELOAD_SECONDS),
            RFM_RUNTIME_DIR=str(tmp_path / "runtime"),
        )
        try:
            wait_for_lines(log, f"Serving release {first.version}", WORKERS, 300)
            assert set(served(url, 20)) == {first.version}

            second = publish_copy(project, first.version)
            reloaded = httpx.post(f"{url}/api/v1/model/reload")
            assert (reloaded.status_code, reloaded.json()["version"]) == (200, second)
            assert served(url).count(second) == 200
            wait_for_lines(log, f"Serving release {second}", WORKERS, 1)

            third = publish_copy(project, second)
            time.sleep(RELOAD_SECONDS + LOAD_SECONDS)
            assert served(url).count(third) == 200
            assert log.read_text().count(f"Serving release {third}") == WORKERS
        finally:
            server.terminate()
            server.wait(timeout=30)


STARTUP = """
import sys
from pathlib import Path
from fastapi.testclient import TestClient
from rfm_segmentation.api.app import create_app
from rfm_segmentation.api.settings import ApiSettings

with TestClient(create_app(ApiSettings(project_path=Path(sys.argv[1])))) as client:
    assert client.get("/ready").status_code == 200
    print("imported:", *sys.modules)
"""


def test_a_worker_serves_a_release_without_the_pipelines_libraries(trained_project):
    """What a worker imports is most of its start: never Polars, scikit-learn,
    scipy's optimiser, matplotlib, narwhals or Spark (the pipelines' libraries)."""
    answer = subprocess.run(
        [sys.executable, "-c", STARTUP, str(trained_project)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
    )
    (line,) = (x for x in answer.stdout.splitlines() if x.startswith("imported:"))
    modules = set(line.split()[1:])
    packages = {name.split(".")[0] for name in modules}
    assert {"fastapi", "kedro", "pyarrow"} <= packages
    heavy = {"polars", "sklearn", "matplotlib", "narwhals", "pyspark", "plotly"}
    assert not heavy & packages
    assert "scipy.optimize" not in modules
