"""The Makefile's targets, run (or dry-run) by make as a user would."""

from __future__ import annotations

import re
import subprocess

from .support import REPO, registered_pipelines


def make(*args: str) -> str:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_help_names_every_registered_pipeline():
    listed = re.search(r"^run +kedro run: every pipeline \((.+)\)$", make("help"), re.M)
    assert listed, "make help has no `run` line listing the pipelines"
    assert set(listed[1].split(", ")) == registered_pipelines()
