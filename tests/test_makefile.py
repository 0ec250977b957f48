"""The Makefile's targets, run (or dry-run) by make as a user would."""

from __future__ import annotations

import os
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


def recipe(target: str, *variables: str) -> str:
    """The command ``make target`` would run last (a dry run)."""
    return make("--dry-run", target, *variables).strip().splitlines()[-1]


def test_jupyter_takes_its_port_and_allows_root_only_as_root():
    command = recipe("jupyter", "JUPYTER_PORT=8899")
    assert "kedro jupyter lab --no-browser --port 8899" in command
    assert ("--allow-root" in command) == (os.getuid() == 0)


def test_docs_serve_takes_its_port():
    assert recipe("docs-serve").endswith("--dev-addr 127.0.0.1:8001")
    assert recipe("docs-serve", "DOCS_PORT=8123").endswith("--dev-addr 127.0.0.1:8123")
