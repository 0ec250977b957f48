"""API fixtures: a test client and a real uvicorn process on a model trained by
the pipeline in this test session."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
from fastapi.testclient import TestClient

from rfm_segmentation.api.app import create_app
from rfm_segmentation.api.settings import ApiSettings


@pytest.fixture
def client_for() -> Iterator[Callable[..., TestClient]]:
    """Clients for apps over any project and settings; lifespan entered and exited."""
    clients: list[TestClient] = []

    def make(project: Path, **settings) -> TestClient:
        client = TestClient(create_app(ApiSettings(project_path=project, **settings)))
        clients.append(client)
        return client.__enter__()

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(client_for, trained_project) -> TestClient:
    return client_for(trained_project)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_api(
    project: Path, stdout: IO[str] | None = None, ready_seconds: float = 60, **env: str
) -> tuple[subprocess.Popen, str]:
    """``python -m rfm_segmentation.api`` (the one entry point: uvicorn with the
    limits) as a separate process on 127.0.0.1, ready to answer; its stdout (the
    API's log lines) to ``stdout`` or nowhere."""
    port = free_port()
    errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen(
        [sys.executable, "-m", "rfm_segmentation.api"],
        env={
            **os.environ,
            "RFM_PROJECT_PATH": str(project),
            "RFM_HOST": "127.0.0.1",
            "RFM_PORT": str(port),
            "KEDRO_DISABLE_TELEMETRY": "true",
            **env,
        },
        stdout=stdout or subprocess.DEVNULL,
        stderr=errors,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return server, url
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            errors.seek(0)
            raise RuntimeError(f"the API exited: {errors.read()}")
        time.sleep(0.2)
    server.terminate()
    raise TimeoutError(f"the API not ready on {url} within {ready_seconds:g} s")


@pytest.fixture(scope="session")
def live_servers(trained_project) -> Iterator[Callable[..., str]]:
    """Real API servers on the trained project, one per environment asked for."""
    started: dict[tuple, tuple[subprocess.Popen, str]] = {}

    def server(**env: str) -> str:
        key = tuple(sorted(env.items()))
        if key not in started:
            started[key] = start_api(trained_project, **env)
        return started[key][1]

    yield server
    for process, _ in started.values():
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def live_server(live_servers) -> str:
    return live_servers()
