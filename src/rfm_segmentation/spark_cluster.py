"""Spark servers on this machine, from the installed pyspark, to run
``kedro run --env spark`` against them: a standalone cluster (a master and workers on
127.0.0.1) or a Spark Connect server.

    python -m rfm_segmentation.spark_cluster [--workers 2] [--connect] [--compare]

starts the cluster (or, with ``--connect``, a Connect server), runs
``kedro run --env spark --params spark_master=<its URL>`` (``spark_remote=sc://...``)
in the current project, and stops it. With ``--compare`` the run must write the same
``customer_segments.csv`` as the one already there (from the default run).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

SEGMENTS = Path("data/07_model_output/customer_segments.csv")
logger = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spark_env() -> dict[str, str]:
    """The environment a master, a worker or a driver of this cluster runs with."""
    from pyspark.find_spark_home import _find_spark_home  # noqa: PLC0415 - optional

    return {
        **os.environ,
        "SPARK_HOME": _find_spark_home(),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }


@contextmanager
def standalone_cluster(
    workers: int = 2, cores: int = 1, memory: str = "1g", timeout: float = 90
) -> Iterator[str]:
    """A running master with ``workers`` registered workers; yields its URL
    (``spark://127.0.0.1:<port>``) and stops everything on exit."""
    env = spark_env()
    spark_class = str(Path(env["SPARK_HOME"]) / "bin" / "spark-class")
    port, ui = free_port(), free_port()
    logs = Path(tempfile.mkdtemp(prefix="spark-cluster-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, logs, ignore_errors=True)  # after every stop
        master = _start(
            stack,
            [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(ui),
            ],
            env,
            logs / "master.log",
        )
        url = f"spark://127.0.0.1:{port}"
        for number in range(workers):
            _start(
                stack,
                [
                    spark_class,
                    "org.apache.spark.deploy.worker.Worker",
                    "--host",
                    "127.0.0.1",
                    "--cores",
                    str(cores),
                    "--memory",
                    memory,
                    "--webui-port",
                    str(free_port()),
                    url,
                ],
                env,
                logs / f"worker{number}.log",
            )
        _wait_until(
            lambda: _alive_workers(ui) >= workers,
            f"{workers} Spark workers registered",
            timeout,
            master,
            logs / "master.log",
        )
        yield url


@contextmanager
def connect_server(timeout: float = 90) -> Iterator[str]:
    """A Spark Connect server (``local[2]`` behind it) on 127.0.0.1; yields its URL
    (``sc://127.0.0.1:<port>``) and stops it on exit."""
    env = spark_env()
    port = free_port()
    logs = Path(tempfile.mkdtemp(prefix="spark-connect-"))
    submit = Path(env["SPARK_HOME"]) / "bin" / "spark-submit"  # execs the JVM
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, logs, ignore_errors=True)  # after the stop
        server = _start(
            stack,
            [
                str(submit),
                "--class",
                "org.apache.spark.sql.connect.service.SparkConnectServer",
                "--master",
                "local[2]",
                "--conf",
                "spark.connect.grpc.binding.address=127.0.0.1",
                "--conf",
                f"spark.connect.grpc.binding.port={port}",
            ],
            env,
            logs / "server.log",
        )
        _wait_until(
            lambda: _listening(port),
            f"Spark Connect listening on {port}",
            timeout,
            server,
            logs / "server.log",
        )
        yield f"sc://127.0.0.1:{port}"


def _wait_until(
    ready: Callable[[], bool],
    what: str,
    timeout: float,
    process: subprocess.Popen,
    log: Path,
) -> None:
    """Poll ``ready`` each second; fail with the log's tail if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited before {what}: {log.read_text()[-2000:]}")
        if ready():
            return
        time.sleep(1)
    raise TimeoutError(f"not {what} within {timeout:.0f} s")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive_workers(ui: int) -> int:
    """Alive workers on the master's status page (0 while it is not up)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=2) as page:
            return json.load(page).get("aliveworkers", 0)
    except OSError:
        return 0


def _start(
    stack: ExitStack, command: list[str], env: dict[str, str], log: Path
) -> subprocess.Popen:
    output = stack.enter_context(log.open("w"))
    process = subprocess.Popen(
        command, env=env, stdout=output, stderr=subprocess.STDOUT
    )
    stack.callback(_stop, process)
    return process


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_on_cluster(
    project: Path, master: str, *kedro_args: str, timeout: float = 900
) -> None:
    """``kedro run --env spark`` in ``project`` with the cluster as ``spark.master``
    (or, for an ``sc://`` URL, ``spark.remote``); a run still waiting for executors
    after ``timeout`` seconds fails."""
    parameter = "spark_remote" if master.startswith("sc://") else "spark_master"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "kedro"),
            "run",
            "--env",
            "spark",
            "--params",
            f"{parameter}={master}",
            *kedro_args,
        ],
        cwd=project,
        env={**spark_env(), "KEDRO_DISABLE_TELEMETRY": "true"},
        check=True,
        timeout=timeout,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connect", action="store_true", help="a Spark Connect server")
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    project = Path.cwd()
    before = Path(tempfile.mkdtemp()) / "customer_segments.csv"
    if args.compare:
        shutil.copy(project / SEGMENTS, before)
    servers = connect_server() if args.connect else standalone_cluster(args.workers)
    with servers as master:
        logger.info("Spark at %s", master)
        run_on_cluster(project, master)
    if args.compare:
        same = filecmp.cmp(before, project / SEGMENTS, shallow=False)
        logger.info(
            "customer_segments.csv on the cluster %s the default run's",
            "equals" if same else "DIFFERS from",
        )
        sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
