"""The Makefile's targets, run (or dry-run) by make as a user would."""

from __future__ import annotations

import os
import re
import shutil
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


def test_serve_runs_the_one_entry_point_as_the_container_does():
    assert recipe("serve").endswith("/python -m rfm_segmentation.api")
    cmd = re.search(r"^CMD (.+)$", (REPO / "Dockerfile").read_text(), re.M)
    assert cmd and cmd[1] == '["python3", "-m", "rfm_segmentation.api"]'


def test_docs_serve_takes_its_port():
    assert recipe("docs-serve").endswith("--dev-addr 127.0.0.1:8001")
    assert recipe("docs-serve", "DOCS_PORT=8123").endswith("--dev-addr 127.0.0.1:8123")


def test_clean_removes_every_output_but_the_raw_data_and_gitkeeps(tmp_path):
    shutil.copy(REPO / "Makefile", tmp_path)
    kept = ["data/01_raw/online_retail.csv", "data/01_raw/.gitkeep"]
    kept += ["data/08_reporting/.gitkeep", "src/rfm_segmentation/nodes.py"]
    removed = [
        "data/02_intermediate/clean_transactions.parquet",
        "data/06_models/releases/2024-01-01T00.00.00.000Z/model.pkl",
        "data/08_reporting/segment_sizes.png",
        "build/index.html",
        ".viz/stats.json",
        "src/rfm_segmentation.egg-info/PKG-INFO",
        "src/rfm_segmentation/__pycache__/nodes.cpython-311.pyc",
        "notebooks/.ipynb_checkpoints/explore-checkpoint.ipynb",
        ".venv/bin/python",
        ".cache/bench/1M.parquet",
        ".pytest_cache/README.md",
        ".ruff_cache/CACHEDIR.TAG",
        "site/index.html",
    ]
    for path in kept + removed:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).touch()

    subprocess.run(["make", "clean"], cwd=tmp_path, check=True, capture_output=True)
    left = {
        path.relative_to(tmp_path).as_posix()
        for path in tmp_path.rglob("*")
        if path.is_file() and path.name != "Makefile"
    }
    assert left == set(kept)
    for folder in [
        "build",
        ".viz",
        "src/rfm_segmentation.egg-info",
        "data/06_models/releases",
    ]:
        assert not (tmp_path / folder).exists()
