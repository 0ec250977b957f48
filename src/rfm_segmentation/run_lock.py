"""One writer at a time: a run holds an exclusive lock on the project's data folder
for its whole duration.

The lock is ``fcntl.flock`` on ``<folder>/.kedro-run.lock``: the kernel releases it
when the holding process ends, however it ends, so a lock left by a killed run is
simply taken over. The holder writes its pid, host and start time into the file, so
a run that finds the lock taken can say who holds it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)
LOCK_FILE = ".kedro-run.lock"
POLL_SECONDS = 0.2


class RunLocked(RuntimeError):
    """Another run holds the lock; the message names it and what to do."""


class RunLock:
    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, wait_seconds: float = 0) -> dict | None:
        """Take the lock, waiting up to ``wait_seconds`` for another run to finish.
        Returns what a dead holder left in the file (its lock is taken over), if
        anything; RunLocked when the lock stays taken."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_seconds
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if wait_seconds and not waiting:
                    waiting = True
                    logger.info(
                        "Waiting up to %g s for the run lock held by %s",
                        wait_seconds,
                        _holder(fd) or "another process",
                    )
                if time.monotonic() >= deadline:
                    holder = _holder(fd)
                    os.close(fd)
                    raise RunLocked(self._taken_message(holder, wait_seconds)) from None
                time.sleep(POLL_SECONDS)
        previous = _holder(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_me()).encode(), 0)
        self._fd = fd
        return previous or None

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def _taken_message(self, holder: dict, waited: float) -> str:
        who = (
            f"pid {holder.get('pid')} on {holder.get('host')}, since "
            f"{holder.get('since')}"
            if holder
            else "another process"
        )
        waiting = f" (waited {waited:g} s)" if waited else ""
        return (
            f"Another kedro run is writing to {self.path.parent} ({who}){waiting}: let "
            "it finish, or run with --params run_lock.wait_seconds=600 to wait for it."
        )


def _me() -> dict:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _holder(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}
