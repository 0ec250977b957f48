"""Load test of the segmentation API against a seed-style service, side by side.

Starts two uvicorn servers (1 worker each) on 127.0.0.1 serving the same release: the
API, and ``benchmarks.seed_service`` (synchronous endpoints calling the fitted
scikit-learn ``Pipeline.predict`` per request). Loads each in turn with ``wrk`` when it
is installed (``apt-get install wrk``), or with this module's asyncio client otherwise,
and writes req/s and p50/p99 latency with the ratios against their goals to
docs/api-benchmark.md. When a goal is missed, the report adds an in-process profile of
the API's request path: where the time goes.

    python -m benchmarks.api_load [--seconds 10] [--connections 32] [--generator auto]

Needs a trained model (`make all`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import itertools
import json
import os
import pstats
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.machine import describe

REPORT = Path(__file__).resolve().parents[1] / "docs" / "api-benchmark.md"
REFERENCE = {"recency": 15, "frequency": 2, "monetary": 350.75}
BATCH_SIZE = 10_000
GOAL_RPS, GOAL_P99_MS, GOAL_SINGLE_RATIO, GOAL_BATCH_RATIO = 7_000, 10.0, 6.0, 3.0
API = ("rfm_segmentation.api.app:app", "/api/v1/segment", "/ready")
SEED = ("benchmarks.seed_service:create_app", "/segment", "/docs")


@dataclass
class Result:
    name: str
    connections: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float

    def row(self) -> str:
        return (
            f"| {self.name} | {self.connections} | {self.requests:,} | "
            f"{self.rps:,.0f} | {self.p50_ms:.2f} | {self.p99_ms:.2f} |"
        )


# --- wrk ---------------------------------------------------------------------------

WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = io.open("{body}", "rb")
wrk.body = file:read("*a")
file:close()
"""


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


WRK_GET_SCRIPT = """local paths = {{}}
for line in io.lines("{paths}") do paths[#paths + 1] = line end
local next_path = 0
request = function()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end
"""


def wrk_load(
    name: str, url: str, body: bytes, *, connections: int, seconds: float
) -> Result:
    """``wrk`` POSTing ``body`` to ``url``."""
    with tempfile.TemporaryDirectory() as folder:
        body_file = Path(folder) / "body.json"
        body_file.write_bytes(body)
        return _wrk(name, url, WRK_SCRIPT.format(body=body_file), connections, seconds)


def wrk_get(
    name: str, url: str, paths: list[str], *, connections: int, seconds: float
) -> Result:
    """``wrk`` GETting ``paths`` of the server at ``url`` in turn."""
    with tempfile.TemporaryDirectory() as folder:
        paths_file = Path(folder) / "paths.txt"
        paths_file.write_text("\n".join(paths) + "\n")
        script = WRK_GET_SCRIPT.format(paths=paths_file)
        return _wrk(name, url, script, connections, seconds)


def _wrk(name: str, url: str, script: str, connections: int, seconds: float) -> Result:
    """``wrk`` with one thread (the other core serves), keep-alive, ``--latency``."""
    with tempfile.TemporaryDirectory() as folder:
        script_file = Path(folder) / "load.lua"
        script_file.write_text(script)
        output = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(seconds, 1):.0f}s",
                "--timeout",
                "10s",
                "--latency",
                "-s",
                str(script_file),
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"errors during the load test of {name}:\n{output}")
    return wrk_result(name, connections, output)


def wrk_result(name: str, connections: int, output: str) -> Result:
    """The requests, req/s, p50 and p99 of a ``wrk --latency`` report."""
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    if len(latency) < 2:
        raise RuntimeError(f"no p50/p99 in the report of {name}:\n{output}")
    return Result(
        name,
        connections,
        int(re.search(r"(\d+) requests in", output).group(1)),
        float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        _milliseconds(latency["50"]),
        _milliseconds(latency["99"]),
    )


# --- the asyncio client, where wrk is not installed -------------------------------


async def _connection(
    port: int, requests: list[bytes], stop_at: float, latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in itertools.cycle(requests):
            if time.perf_counter() >= stop_at:
                break
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            await reader.readexactly(length)
            if head[9:12] != b"200":
                raise RuntimeError(f"status {head[9:12].decode()} during load test")
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        writer.close()


async def _python_load(
    port: int, requests: list[bytes], connections: int, seconds: float
) -> tuple[np.ndarray, float]:
    latencies: list[float] = []
    await _connection(port, requests, time.perf_counter() + 0.5, [])  # warm-up
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _connection(
                port,
                requests[i % len(requests) :: connections],
                started + seconds,
                latencies,
            )
            for i in range(connections)
        )
    )
    return np.array(latencies), time.perf_counter() - started


def python_load(
    name: str, url: str, body: bytes, *, connections: int, seconds: float
) -> Result:
    """This module's client POSTing ``body`` to ``url``."""
    port, path = (
        int(url.split(":")[2].split("/", maxsplit=1)[0]),
        "/" + url.split("/", 3)[3],
    )
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    return _python_result(name, port, [request] * connections, connections, seconds)


def python_get(
    name: str, url: str, paths: list[str], *, connections: int, seconds: float
) -> Result:
    """This module's client GETting ``paths`` of the server at ``url`` in turn."""
    port = int(url.rsplit(":", 1)[1])
    requests = [f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() for p in paths]
    return _python_result(name, port, requests, connections, seconds)


def _python_result(
    name: str, port: int, requests: list[bytes], connections: int, seconds: float
) -> Result:
    latencies, elapsed = asyncio.run(_python_load(port, requests, connections, seconds))
    return Result(
        name,
        connections,
        len(latencies),
        len(latencies) / elapsed,
        float(np.percentile(latencies, 50)),
        float(np.percentile(latencies, 99)),
    )


# --- servers -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(target: str, ready_path: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            *(["--factory"] if target.endswith("create_app") else []),
            target,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url + ready_path, timeout=1) as ready:
                if ready.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError(f"{target} did not become ready: is there a model (make all)?")


def batch_body() -> bytes:
    rng = np.random.default_rng(0)
    rfm = zip(
        rng.integers(1, 370, BATCH_SIZE),
        rng.integers(1, 50, BATCH_SIZE),
        rng.uniform(10, 5000, BATCH_SIZE).round(2),
        strict=True,
    )
    customers = [
        {
            "customer_id": str(i),
            "recency": float(r),
            "frequency": float(f),
            "monetary": m,
        }
        for i, (r, f, m) in enumerate(rfm)
    ]
    return json.dumps({"customers": customers}).encode()


# --- where the time goes -----------------------------------------------------------


LAYERS = {
    "rfm_segmentation": "this project",
    "fastapi": "FastAPI",
    "starlette": "Starlette",
    "pydantic": "pydantic",
    "numpy": "numpy",
    "orjson": "orjson",
    "logging": "logging",
    "asyncio": "asyncio",
}


def _layer(file: str, function: str) -> str:
    where = f"{file} {function}"
    return next((name for key, name in LAYERS.items() if key in where), "other")


def _where(file: str, line: int) -> str:
    path = Path(file)
    return "built-in" if file == "~" else f"{path.parent.name}/{path.name}:{line}"


def request_path_profile(requests: int = 5000, top: int = 8) -> str:
    """Self time by layer, and the costliest functions, of single requests driven
    through the API's ASGI app in-process (no network) under cProfile."""
    from rfm_segmentation.api.app import create_app  # noqa: PLC0415 - only when needed

    app = create_app()
    body = json.dumps(REFERENCE).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": API[1],
        "raw_path": API[1].encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        pass

    async def drive(profiler: cProfile.Profile) -> None:
        async with app.router.lifespan_context(app):
            for _ in range(200):
                await app(dict(scope), receive, send)
            profiler.enable()
            for _ in range(requests):
                await app(dict(scope), receive, send)
            profiler.disable()

    profiler = cProfile.Profile()
    with contextlib.redirect_stdout(io.StringIO()):  # the access lines
        asyncio.run(drive(profiler))
    stats = pstats.Stats(profiler).stats
    total = sum(entry[2] for entry in stats.values())
    by_layer: dict[str, float] = {}
    for (file, _, function), entry in stats.items():
        layer = _layer(file, function)
        by_layer[layer] = by_layer.get(layer, 0.0) + entry[2]
    costliest = sorted(stats.items(), key=lambda item: -item[1][2])[:top]
    return "\n".join(
        [
            f"{total / requests * 1e6:.0f} us per request under the profiler "
            "(which inflates it), self time by layer:",
            "",
            "| layer | share |",
            "| --- | --- |",
            *(
                f"| {layer} | {seconds / total:.0%} |"
                for layer, seconds in sorted(by_layer.items(), key=lambda i: -i[1])
            ),
            "",
            "| function | self time share |",
            "| --- | --- |",
            *(
                f"| `{function}` ({_where(file, line)}) | {entry[2] / total:.1%} |"
                for (file, line, function), entry in costliest
            ),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batch-connections", type=int, default=2)
    parser.add_argument(
        "--generator", choices=["auto", "wrk", "python"], default="auto"
    )
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    load = wrk_load if generator == "wrk" else python_load

    single, batch = json.dumps(REFERENCE).encode(), batch_body()
    (api, api_url), (seed, seed_url) = start_server(*API[::2]), start_server(*SEED[::2])
    try:
        runs = [
            ("single: /api/v1/segment", api_url + API[1], single, args.connections),
            (
                "single: seed-style service",
                seed_url + SEED[1],
                single,
                args.connections,
            ),
            (
                "batch of 10,000: /api/v1/segment/batch",
                f"{api_url}{API[1]}/batch",
                batch,
                args.batch_connections,
            ),
            (
                "batch of 10,000: seed-style service",
                f"{seed_url}{SEED[1]}/batch",
                batch,
                args.batch_connections,
            ),
        ]
        results = [
            load(name, url, body, connections=conns, seconds=args.seconds)
            for name, url, body, conns in runs
        ]
    finally:
        for server in (api, seed):
            server.terminate()
            server.wait(timeout=10)

    ours, theirs, our_batch, their_batch = results
    single_ratio, batch_ratio = ours.rps / theirs.rps, our_batch.rps / their_batch.rps
    goals = [
        ("single requests, req/s", f"{ours.rps:,.0f}", f">= {GOAL_RPS:,}", ours.rps >= GOAL_RPS),
        ("single requests, p99", f"{ours.p99_ms:.2f} ms", f"<= {GOAL_P99_MS:.0f} ms", ours.p99_ms <= GOAL_P99_MS),
        ("single requests, x seed-style", f"{single_ratio:.1f}x", f">= {GOAL_SINGLE_RATIO:.0f}x", single_ratio >= GOAL_SINGLE_RATIO),
        ("batches of 10,000, x seed-style", f"{batch_ratio:.1f}x", f">= {GOAL_BATCH_RATIO:.0f}x", batch_ratio >= GOAL_BATCH_RATIO),
    ]  # fmt: skip
    table = "\n".join(
        [
            "| endpoint | connections | requests | req/s | p50 ms | p99 ms |",
            "| --- | --- | --- | --- | --- | --- |",
            *(result.row() for result in results),
        ]
    )
    goal_table = "\n".join(
        [
            "| measure | measured | goal | met |",
            "| --- | --- | --- | --- |",
            *(
                f"| {what} | {value} | {goal} | {'yes' if met else 'no'} |"
                for what, value, goal, met in goals
            ),
        ]
    )
    summary = (
        f"Single requests: {single_ratio:.1f}x the seed-style service's req/s, p99 "
        f"{ours.p99_ms:.2f} ms at {args.connections} connections. Batches of 10,000: "
        f"{batch_ratio:.1f}x."
    )
    print(table, goal_table, summary, sep="\n\n")
    missed = [what for what, *_, met in goals if not met]
    profile = ""
    if missed:
        profile = (
            f"\n\n## Where the time goes\n\nMissed: {', '.join(missed)}. Single "
            "requests through the app in-process; uvicorn's HTTP parsing and socket "
            "work come on top (a bare FastAPI app with one pydantic route measures "
            "the floor of those on a machine).\n\n" + request_path_profile()
        )
        print(profile)
    client = (
        "`wrk` (1 thread; the other core serves)"
        if generator == "wrk"
        else "this module's asyncio client (install `wrk` for more headroom: it "
        "caps near 3,300 req/s)"
    )
    machine = describe(["fastapi", "uvicorn", "pydantic", "scikit-learn", "numpy"])
    args.output.parent.mkdir(exist_ok=True)
    args.output.write_text(
        "# API load benchmark\n\n"
        "Written by `make bench-api` (`python -m benchmarks.api_load`); do not edit "
        "by hand.\n\n"
        "Two uvicorn servers with 1 worker each on 127.0.0.1, serving the same "
        "release: the API, and a seed-style service (`benchmarks/seed_service.py`: "
        "synchronous endpoints, a pydantic object per customer, scikit-learn "
        "`Pipeline.predict` per request, responses serialised by FastAPI), loaded in "
        f"turn in one run, {args.seconds:.0f} s per endpoint, by {client}, keep-alive "
        f"HTTP/1.1 on the same machine.\n\nMachine: {machine}.\n\n"
        f"{table}\n\n{goal_table}\n\n{summary}{profile}\n"
    )


if __name__ == "__main__":
    main()
