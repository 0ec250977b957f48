"""Two `kedro run`s at once in one project folder: one writer at a time, each
release holds exactly its own input's customers, and the second run waits or stops
with one sentence naming the first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rfm_segmentation.release import ReleaseFolder
from rfm_segmentation.run_lock import LOCK_FILE, RunLock, RunLocked
from rfm_segmentation.synthetic_data import generate_transactions

from .support import RELEASES, make_project, newest_release, run_kedro

pytestmark = pytest.mark.slow


def kedro_run(project: Path, *params: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kedro",
            "run",
            *(["--params", ",".join(params)] if params else []),
        ],
        cwd=project,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "RFM_TRACEBACK": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def other_shop():
    return generate_transactions(20_000, seed=99, start="2011-03-01", end="2011-11-30")


def customers_of(release) -> set[str]:
    return set(release.customers.column("customer_id").to_pylist())


def test_two_runs_at_once_each_publish_exactly_their_own_inputs_customers(
    tmp_path, small_transactions, other_shop
):
    alone = {}
    for name, data in (("default", small_transactions), ("other", other_shop)):
        project = make_project(tmp_path / f"alone-{name}", data)
        run_kedro(project)
        alone[name] = customers_of(newest_release(project))
    assert alone["default"] != alone["other"]

    project = make_project(tmp_path / "shared", small_transactions)
    other = project / "data/01_raw/other_shop.csv"
    other_shop.write_csv(other)
    runs = [
        kedro_run(project, "run_lock.wait_seconds=600"),
        kedro_run(
            project, "run_lock.wait_seconds=600", f"raw_transactions_path={other}"
        ),
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert any("Waiting up to 600 s for the run lock" in out for out, _ in outputs)

    folder = ReleaseFolder(project / RELEASES)
    releases = [folder.load(version) for version in folder.versions()]
    inputs = sorted(Path(r.input.path).name for r in releases)
    assert inputs == ["online_retail.csv", "other_shop.csv"]
    for release in releases:
        shop = "other" if Path(release.input.path) == other else "default"
        assert customers_of(release) == alone[shop]
        assert release.input.bytes == Path(project, release.input.path).stat().st_size


def test_a_second_run_that_may_not_wait_stops_at_once_naming_the_first(
    project_factory, small_transactions
):
    project = project_factory(small_transactions)
    first = kedro_run(project)
    lock = project / "data" / LOCK_FILE
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.read_text()):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    holder = json.loads(lock.read_text())
    second = kedro_run(project)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 1
    message = err.strip().splitlines()[-2]
    assert message.startswith("Error: RunLocked: Another kedro run is writing to")
    assert f"pid {first.pid} on {holder['host']}, since {holder['since']}" in message
    assert first.wait(timeout=300) == 0
    assert len(ReleaseFolder(project / RELEASES).versions()) == 1


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from rfm_segmentation.run_lock import RunLock; "
            "RunLock(Path(sys.argv[1])).acquire(); print('held')",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert dead.stdout.strip() == "held"  # it exited holding the lock
    lock = RunLock(tmp_path)
    previous = lock.acquire()
    assert previous["pid"] != os.getpid()
    with pytest.raises(RunLocked, match=f"pid {os.getpid()}"):
        RunLock(tmp_path).acquire()
    lock.release()
    RunLock(tmp_path).acquire()
