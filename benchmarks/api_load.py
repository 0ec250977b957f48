"""Load test of the segmentation API against a scikit-learn-per-request baseline.

Starts uvicorn (1 worker) on 127.0.0.1 serving the real app plus two baseline routes
that call the fitted scikit-learn ``Pipeline.predict`` per request, then loads each
endpoint in turn for a bounded time with 32 keep-alive connections from this
process, and prints req/s and p50/p99 latency side by side. Results are written to
docs/api-benchmark.md.

    python -m benchmarks.api_load [--seconds 10] [--connections 32]

Needs a trained model (`make all`).
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.machine import describe
from rfm_segmentation.api.app import create_app
from rfm_segmentation.api.dependencies import CurrentModel
from rfm_segmentation.api.schemas import BatchRequest, CustomerRFM

REPORT = Path(__file__).resolve().parents[1] / "docs" / "api-benchmark.md"
REFERENCE = {"recency": 15, "frequency": 2, "monetary": 350.75}
BATCH_SIZE = 10_000


def create_benchmark_app():
    """The real app plus /baseline routes that call scikit-learn per request."""
    app = create_app()

    @app.post("/baseline/segment")
    async def baseline_segment(customer: CustomerRFM, model: CurrentModel) -> dict:
        rfm = np.array([[customer.recency, customer.frequency, customer.monetary]])
        label = int(model.release.model.predict(rfm)[0])
        return {
            "segment_name": model.release.profile.names[label],
            "cluster_label": label,
        }

    @app.post("/baseline/segment/batch")
    async def baseline_batch(body: BatchRequest, model: CurrentModel) -> dict:
        rfm = np.array([[c.recency, c.frequency, c.monetary] for c in body.customers])
        labels = model.release.model.predict(rfm).tolist()
        names = model.release.profile.names
        return {
            "results": [
                {
                    "customer_id": c.customer_id,
                    "segment_name": names[label],
                    "cluster_label": label,
                }
                for c, label in zip(body.customers, labels, strict=True)
            ]
        }

    return app


@dataclass
class Result:
    name: str
    connections: int
    requests: int
    seconds: float
    latencies_ms: np.ndarray

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q))


async def _connection(
    port: int, request: bytes, stop_at: float, latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = int(
                next(
                    line.split(b":")[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
            )
            await reader.readexactly(length)
            if status != b"200":
                raise RuntimeError(f"status {status.decode()} during load test")
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        writer.close()


async def load(
    name: str, port: int, path: str, body: dict, *, connections: int, seconds: float
) -> Result:
    payload = json.dumps(body).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    latencies: list[float] = []
    await _connection(port, request, time.perf_counter() + 0.5, [])  # warm-up
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _connection(port, request, started + seconds, latencies)
            for _ in range(connections)
        )
    )
    return Result(
        name,
        connections,
        len(latencies),
        time.perf_counter() - started,
        np.array(latencies),
    )


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "benchmarks.api_load:create_benchmark_app",
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
    for _ in range(300):
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/ready", timeout=1
            ) as ready:
                if ready.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError(
        "the API did not become ready: is there a trained model (make all)?"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--batch-connections", type=int, default=2)
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    batch = {
        "customers": [
            {
                "customer_id": str(i),
                "recency": float(r),
                "frequency": float(f),
                "monetary": float(m),
            }
            for i, (r, f, m) in enumerate(
                zip(
                    rng.integers(1, 370, BATCH_SIZE),
                    rng.integers(1, 50, BATCH_SIZE),
                    rng.uniform(10, 5000, BATCH_SIZE).round(2),
                    strict=True,
                )
            )
        ]
    }
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = start_server(port)
    try:
        runs = [
            ("single: /api/v1/segment", "/api/v1/segment", REFERENCE, args.connections),
            (
                "single: baseline (Pipeline.predict)",
                "/baseline/segment",
                REFERENCE,
                args.connections,
            ),
            (
                "batch of 10,000: /api/v1/segment/batch",
                "/api/v1/segment/batch",
                batch,
                args.batch_connections,
            ),
            (
                "batch of 10,000: baseline (Pipeline.predict)",
                "/baseline/segment/batch",
                batch,
                args.batch_connections,
            ),
        ]
        results = [
            asyncio.run(
                load(name, port, path, body, connections=conns, seconds=args.seconds)
            )
            for name, path, body, conns in runs
        ]
    finally:
        server.terminate()
        server.wait(timeout=10)

    table = [
        "| endpoint | connections | requests | req/s | p50 ms | p99 ms |",
        "| --- | --- | --- | --- | --- | --- |",
        *(
            f"| {r.name} | {r.connections} | {r.requests} | {r.rps:,.0f} | {r.percentile(50):.2f} | {r.percentile(99):.2f} |"
            for r in results
        ),
    ]
    single_ratio = results[0].rps / results[1].rps
    batch_ratio = results[2].rps / results[3].rps
    summary = (
        f"Single requests: {single_ratio:.1f}x the baseline's req/s (goal >= 5x); "
        f"p99 {results[0].percentile(99):.2f} ms at {args.connections} connections (goal <= 10 ms). "
        f"Batches of 10,000: {batch_ratio:.1f}x the baseline."
    )
    print("\n".join(table))
    print(summary)
    machine = describe(["fastapi", "uvicorn", "pydantic", "scikit-learn", "numpy"])
    args.output.parent.mkdir(exist_ok=True)
    args.output.write_text(
        "# API load benchmark\n\n"
        "Written by `make bench-api` (`python -m benchmarks.api_load`); do not edit by hand.\n\n"
        f"uvicorn with 1 worker on 127.0.0.1; the load generator (asyncio, keep-alive HTTP/1.1) "
        f"runs in another process on the same machine, {args.seconds:.0f} s per endpoint. The "
        "baseline routes are the same FastAPI app calling the fitted scikit-learn "
        "`Pipeline.predict` per request, measured in the same run.\n\n"
        f"Machine: {machine}.\n\n" + "\n".join(table) + f"\n\n{summary}\n"
    )


if __name__ == "__main__":
    main()
