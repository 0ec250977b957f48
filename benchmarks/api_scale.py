"""The API on one project's newest release: how long it takes to be ready, how much
memory its worker holds, and the latency of customer lookups, histories and the
migration table under load, beside ``/health`` under the same load (the server's
own cost per request: the floor of any route). ``benchmarks.customer_scale`` runs it
on the release of each `kedro run` it measures.

    python -m benchmarks.api_scale PROJECT [--seconds 10] [--connections 32]

One worker (``python -m rfm_segmentation.api``, the served entry point) on
127.0.0.1; lookups of ids drawn at random from the release's table, in turn, with
``wrk`` when it is installed, else ``benchmarks.api_load``'s asyncio client; each
load measured after ``WARMUP_SECONDS`` of the same load (the lookups' warm-up is
reported too: a worker's first seconds).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyarrow import ipc

from benchmarks.api_load import Result, free_port, python_get, wrk_get
from rfm_segmentation.release import CUSTOMERS_FILE, ReleaseFolder
from tests.support import RELEASES

IDS = 10_000  # distinct customers each load cycles through
MIGRATION_CALLS = 50
# each load runs this long unmeasured first: a worker's first seconds touch the
# mapped tables' pages for the first time (reported apart, as ``cold``)
WARMUP_SECONDS = 3
READY_TIMEOUT_SECONDS = 120


@dataclass
class ApiScale:
    ready_seconds: float  # from the process start to the first 200 of /ready
    # the worker's resident memory after the loads: its own (anonymous) memory, and
    # the pages of the release's memory-mapped files, which every worker shares and
    # the kernel can reclaim
    anonymous_mib: float
    mapped_files_mib: float
    customer: Result  # GET /api/v1/customers/{id}
    history: Result  # GET /api/v1/customers/{id}/history
    migrations_ms: float  # the slowest of MIGRATION_CALLS GET /api/v1/migrations
    floor: Result  # GET /health under the same load: the server's own cost, no work
    generator: str  # what made the load: wrk (one thread) or the asyncio client
    cold: Result  # the lookups' warm-up: the worker's first seconds of load


def sample_ids(project: Path, count: int = IDS) -> list[str]:
    """``count`` customer ids drawn at random (seeded) from the newest release."""
    folder = ReleaseFolder(project / RELEASES)
    version = folder.newest_complete_version()
    if version is None:
        raise FileNotFoundError(f"no release under {project / RELEASES}")
    path = project / RELEASES / version / CUSTOMERS_FILE
    ids = ipc.open_file(pa.memory_map(str(path))).read_all().column("customer_id")
    rows = np.random.default_rng(0).integers(0, len(ids), count)
    return ids.take(pa.array(rows)).to_pylist()


def measure(project: Path, seconds: float = 10, connections: int = 32) -> ApiScale:
    """Start the API on ``project``, load it and stop it."""
    ids = [urllib.parse.quote(i, safe="") for i in sample_ids(project)]
    generator, load = (
        ("`wrk` (one thread)", wrk_get)
        if shutil.which("wrk")
        else ("the asyncio client of `benchmarks.api_load`", python_get)
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "rfm_segmentation.api"],
        env={
            **os.environ,
            "RFM_PROJECT_PATH": str(project),
            "RFM_PORT": str(port),
            "KEDRO_DISABLE_TELEMETRY": "true",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = _ready_after(url, server) - started
        loads = {
            "customer": [f"/api/v1/customers/{i}" for i in ids],
            "history": [f"/api/v1/customers/{i}/history" for i in ids],
            "health": ["/health"],
        }
        warmed = {
            name: load(
                name, url, paths, connections=connections, seconds=WARMUP_SECONDS
            )
            for name, paths in loads.items()
        }
        customer, history, floor = (
            load(name, url, paths, connections=connections, seconds=seconds)
            for name, paths in loads.items()
        )
        migrations = _slowest_of(port, "/api/v1/migrations", MIGRATION_CALLS)
        resident = _resident_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return ApiScale(
        ready,
        resident["RssAnon"],
        resident["RssFile"],
        customer,
        history,
        migrations,
        floor,
        generator,
        warmed["customer"],
    )


def _ready_after(url: str, server: subprocess.Popen) -> float:
    """The moment /ready first answers 200."""
    deadline = time.perf_counter() + READY_TIMEOUT_SECONDS
    while time.perf_counter() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/ready", timeout=1) as answer:
                if answer.status == 200:
                    return time.perf_counter()
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"the API exited ({server.returncode})") from None
            time.sleep(0.02)
    raise TimeoutError(f"the API was not ready within {READY_TIMEOUT_SECONDS} s")


def _slowest_of(port: int, path: str, calls: int) -> float:
    """The slowest of ``calls`` GETs of ``path`` in turn on one connection, in ms."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    slowest = 0.0
    try:
        for _ in range(calls):
            started = time.perf_counter()
            connection.request("GET", path)
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                raise RuntimeError(f"{path} answered {answer.status}")
            slowest = max(slowest, (time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    return slowest


def _resident_mib(pid: int) -> dict[str, float]:
    """The process's resident memory by kind (/proc/PID/status ``Rss*``), in MiB."""
    with open(f"/proc/{pid}/status") as status:
        fields = (line.split() for line in status if line.startswith("Rss"))
        return {name.rstrip(":"): int(kib) / 1024 for name, kib, _ in fields}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--seconds", type=float, default=10.0, help="load per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    print(json.dumps(asdict(measure(args.project, args.seconds, args.connections))))


if __name__ == "__main__":
    main()
