"""Runs that fail part-way or are killed, and release folders damaged after the fact:
no failed run publishes, nothing is left behind, and the API, restarted, always
serves a complete release whose parts (table, history) agree with each other."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from kedro.framework.hooks import hook_impl
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from pyarrow import ipc

from rfm_segmentation import release as release_module
from rfm_segmentation.api.app import create_app
from rfm_segmentation.api.settings import ApiSettings
from rfm_segmentation.history import ABSENT, FEATURE_TYPES, SegmentHistory
from rfm_segmentation.release import Release, ReleaseFolder
from rfm_segmentation.slices import PIPELINES, pipeline_of

from .support import RELEASES, make_project, run_kedro

pytestmark = pytest.mark.slow
EVERY_SAVE = sorted(pipeline_of(*PIPELINES).all_outputs())


class FailAfterSaving:
    """A hook that ends the run right after one dataset has been saved."""

    def __init__(self, dataset: str) -> None:
        self.dataset = dataset

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        if dataset_name == self.dataset:
            raise RuntimeError(f"failed after saving {dataset_name}")


@pytest.fixture(scope="module")
def released(tmp_path_factory, small_transactions) -> Path:
    """A project with one complete release."""
    project = make_project(tmp_path_factory.mktemp("released"), small_transactions)
    run_kedro(project)
    return project


@pytest.fixture
def project(released, tmp_path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(released, copy)
    return copy


def versions(project: Path) -> list[str]:
    return sorted(ReleaseFolder(project / RELEASES).versions())


def leftovers(project: Path) -> list[str]:
    """Hidden scratch folders anywhere under data/: staged or partial writes."""
    return sorted(
        str(p.relative_to(project))
        for p in (project / "data").rglob(".*")
        if p.is_dir() and (".partial-" in p.name or p.name.endswith(".staged"))
    )


def assert_served_release_is_whole(project: Path, version: str) -> dict:
    """A freshly started API serves ``version``; for every customer of its table the
    row, /segment given the customer's own numbers and the end of the history agree."""
    app = create_app(ApiSettings(project_path=project, reload_seconds=0))
    with TestClient(app) as client:
        info = client.get("/api/v1/model").json()
        assert info["version"] == version
        customers = app.state.store.current.customers.to_pylist()
        batch = [
            {
                "customer_id": c["customer_id"],
                **{f: c[f] for f in ("recency", "frequency", "monetary", "tenure")},
            }
            for c in customers
        ]
        answers = client.post("/api/v1/segment/batch", json={"customers": batch})
        by_id = {r["customer_id"]: r["segment_name"] for r in answers.json()["results"]}
        for row in customers[:: max(1, len(customers) // 40)]:
            customer_id = row["customer_id"]
            looked_up = client.get(f"/api/v1/customers/{customer_id}").json()
            history = client.get(f"/api/v1/customers/{customer_id}/history")
            assert history.status_code == 200
            last = history.json()["snapshots"][-1]
            assert (
                looked_up["segment_name"] == by_id[customer_id] == last["segment_name"]
            )
            assert last["snapshot"] == looked_up["as_of"] == info["as_of"]
    return info


@pytest.mark.parametrize("dataset", EVERY_SAVE)
def test_a_run_failing_after_any_save_publishes_nothing_and_leaves_nothing(
    project, dataset
):
    (before,) = versions(project)
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session._hook_manager.register(FailAfterSaving(dataset))
        with pytest.raises(RuntimeError, match=f"failed after saving {dataset}"):
            session.run()
    assert versions(project) == [before]
    assert leftovers(project) == []
    assert_served_release_is_whole(project, before)


def test_a_failed_release_write_removes_its_own_staging(project, monkeypatch):
    """A full disk while writing the release: the write fails, its folder goes."""
    (before,) = versions(project)
    real_write = release_module._write

    def full_disk(path: Path, write) -> release_module.FileEntry:
        if path.name == release_module.CUSTOMERS_FILE:
            raise OSError(28, "No space left on device")
        return real_write(path, write)

    monkeypatch.setattr(release_module, "_write", full_disk)
    with pytest.raises(Exception, match="No space left on device"):
        run_kedro(project)
    assert versions(project) == [before]
    assert leftovers(project) == []


KILLED_RUN = """
import os, signal, sys
from kedro.framework.hooks import hook_impl
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

class KillAfterSaving:
    @hook_impl
    def after_dataset_saved(self, dataset_name):
        if dataset_name == sys.argv[2]:
            os.kill(os.getpid(), signal.SIGKILL)

bootstrap_project(sys.argv[1])
with KedroSession.create(project_path=sys.argv[1]) as session:
    session._hook_manager.register(KillAfterSaving())
    session.run()
"""


@pytest.mark.parametrize("dataset", ["model_release", "clean_transactions"])
def test_after_a_kill_the_next_run_cleans_up_and_the_api_serves_its_release(
    project, dataset
):
    (before,) = versions(project)
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED_RUN), str(project), dataset],
        cwd=project,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL
    assert versions(project) == [before]  # killed: nothing published
    assert_served_release_is_whole(project, before)
    run_kedro(project)  # takes over the dead run's lock, removes its leftovers
    assert leftovers(project) == []
    after = versions(project)
    assert len(after) == 2
    assert_served_release_is_whole(project, max(after))


def test_retention_keeps_the_newest_n_and_the_pinned_one(project, monkeypatch):
    (first,) = versions(project)
    for _ in range(3):
        run_kedro(project, runtime_params={"releases": {"keep": 0}})
    assert len(versions(project)) == 4
    monkeypatch.setenv("RFM_MODEL_VERSION", first)
    run_kedro(project, runtime_params={"releases": {"keep": 2}})
    kept = versions(project)
    assert len(kept) == 3 and first in kept
    monkeypatch.delenv("RFM_MODEL_VERSION")
    run_kedro(project, runtime_params={"releases": {"keep": 2}})
    assert len(versions(project)) == 2 and first not in versions(project)


def resign(folder: Path) -> None:
    """Rewrite a release's manifest to match its files, as a careless copy would."""
    manifest = json.loads((folder / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        payload = (folder / name).read_bytes()
        entry["sha256"] = hashlib.sha256(payload).hexdigest()
        entry["bytes"] = len(payload)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def damaged_copy(project: Path, damage) -> Path:
    """A newer release made from the newest one, then damaged."""
    (newest,) = versions(project)
    folder = project / RELEASES / "2999-01-01T00.00.00.000Z"
    shutil.copytree(project / RELEASES / newest, folder)
    manifest = folder / "manifest.json"
    manifest.write_text(manifest.read_text().replace(newest, folder.name))
    damage(folder)
    return folder


def _rewritten_table(folder: Path, change) -> None:
    path = folder / release_module.CUSTOMERS_FILE
    table = ipc.open_file(pa.OSFile(str(path))).read_all()  # a copy: rewritten below
    table = change(table)
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as out:
        out.write_table(table)
    resign(folder)


def _unknown_segment_name(folder: Path) -> None:
    profile = folder / "profile.json"
    profile.write_text(profile.read_text().replace('"Champions"', '"VIP"'))
    resign(folder)


def _emptied_table(folder: Path) -> None:
    (folder / release_module.CUSTOMERS_FILE).write_bytes(b"")


def _truncated_table(folder: Path) -> None:
    _rewritten_table(folder, lambda table: table.slice(0, 10))


def _table_of_another_model(folder: Path) -> None:
    def renamed(table: pa.Table) -> pa.Table:
        names = table.column("segment_name").to_pylist()
        swapped = ["At-Risk" if n == "Champions" else n for n in names]
        index = table.schema.get_field_index("segment_name")
        return table.set_column(index, "segment_name", pa.array(swapped))

    _rewritten_table(folder, renamed)


def _ids_of_another_type(folder: Path) -> None:
    def as_view(table: pa.Table) -> pa.Table:
        ids = table.column("customer_id").cast(pa.string_view())
        return table.set_column(0, "customer_id", ids)

    _rewritten_table(folder, as_view)


def _an_empty_id(folder: Path) -> None:
    def emptied(table: pa.Table) -> pa.Table:
        ids = table.column("customer_id").to_pylist()
        return table.set_column(0, "customer_id", pa.array([*ids[:-1], None]))

    _rewritten_table(folder, emptied)


def _history_of_another_table(folder: Path) -> None:
    path = folder / "history_codes.npy"
    path.write_bytes(path.read_bytes()[:-7])
    resign(folder)


def _no_manifest(folder: Path) -> None:
    (folder / "manifest.json").unlink()


def _replaced_report(folder: Path) -> None:
    (folder / release_module.REPORT_FILE).write_text("<p>someone else's page</p>")


def _swapped_model(folder: Path) -> None:
    (folder / "model.pkl").write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_unknown_segment_name, "Unknown segment name 'VIP'"),
        (_emptied_table, "customers.arrow does not match the sha256"),
        (_truncated_table, "row count differs from its manifest"),
        (_table_of_another_model, "segment counts disagree with the profile"),
        (_ids_of_another_type, "customer ids are string_view, not text"),
        (_an_empty_id, "has 1 rows without a customer id"),
        (_history_of_another_table, "unreadable history"),
        (_no_manifest, "no manifest"),
        (_swapped_model, "model.pkl does not match the sha256"),
        (_replaced_report, "report.html does not match the sha256"),
    ],
)
def test_a_damaged_newer_release_is_skipped_with_its_reason(project, damage, reason):
    (good,) = versions(project)
    bad = damaged_copy(project, damage)
    info = assert_served_release_is_whole(project, good)
    (skipped,) = info["skipped_releases"]
    assert skipped["version"] == bad.name
    assert reason in skipped["reason"]


def test_a_release_built_from_a_table_in_any_order_is_sorted_by_id(released):
    """The pipelines hand the release a table sorted by id, and it is taken as it
    is; any other order is sorted, the history's columns following their rows."""
    bootstrap_project(released)
    with KedroSession.create(released) as session:
        catalog = session.load_context().catalog
        customers = catalog.load("customer_segments")
        profile = catalog.load("segment_profile")
    built = ReleaseFolder(released / RELEASES).load(
        ReleaseFolder(released / RELEASES).versions()[0], with_model=True
    )
    n = len(customers)
    columns = np.arange(n, dtype=np.int32)  # each customer's own history value
    history = SegmentHistory(
        customer_ids=customers["customer_id"].to_numpy(),
        snapshots=("2011-01-01", profile.as_of),
        segment_names=profile.segment_names,
        codes=np.zeros((2, n), dtype=np.int8),
        recency=np.vstack([columns, columns]),
        frequency=np.ones((2, n), dtype=np.int32),
        monetary=np.ones((2, n)),
        tenure=np.zeros((2, n), dtype=np.int32),
    )
    shuffled = np.random.default_rng(0).permutation(n)

    def build(table: pd.DataFrame, history: SegmentHistory) -> Release:
        return Release.build(
            built.model,
            built.arithmetic,
            profile,
            customers=table,
            history=history,
            migrations=built.migrations,
            rows={},
        )

    in_order = build(customers, history)
    assert in_order.history.recency is history.recency  # taken as it is, no copy
    reordered = build(
        customers.iloc[shuffled].reset_index(drop=True),
        replace(
            history,
            customer_ids=history.customer_ids[shuffled],
            recency=history.recency[:, shuffled],
        ),
    )
    assert reordered.customers.equals(in_order.customers)
    np.testing.assert_array_equal(reordered.history.recency, history.recency)


def published_again(released: Path, root: Path) -> Path:
    """The released project's release, written and committed again under ``root``."""
    releases = ReleaseFolder(released / RELEASES)
    release = releases.load(releases.versions()[0], with_model=True)
    version = "2999-01-01T00.00.00.000Z"
    release_module.write_release(root, release, version, None)
    ReleaseFolder(root).commit_staged()
    return root / version


def hashed_files(monkeypatch) -> list[str]:
    """The names of the files the release checks hash from now on, in order."""
    hashed: list[str] = []
    sha256_of = release_module._sha256_of

    def counted(path: Path) -> str:
        hashed.append(path.name)
        return sha256_of(path)

    monkeypatch.setattr(release_module, "_sha256_of", counted)
    return hashed


def after_a_clock_tick(path: Path) -> None:
    """Wait until the file system stamps a write later than ``path``'s last change."""
    probe = path.parent.parent / "probe"
    while True:
        probe.write_bytes(b"")
        if probe.stat().st_mtime_ns > path.stat().st_ctime_ns:
            return


def test_a_reader_hashes_only_files_touched_since_their_run_wrote_them(
    released, tmp_path, monkeypatch
):
    """A worker starts without reading the release's gigabytes, yet a file changed
    in place, its modification time put back, or copied, is hashed and checked."""
    folder = published_again(released, tmp_path / "releases")
    manifest, table = folder / release_module.MANIFEST, folder / "customers.arrow"
    sealed = table.stat().st_mtime_ns + 1_000_000_000  # the manifest a tick later
    os.utime(manifest, ns=(sealed, sealed))
    hashed = hashed_files(monkeypatch)
    release_module.read_release(folder)
    assert hashed == []

    copy = tmp_path / "copy" / folder.name
    shutil.copytree(folder, copy)  # copy2 keeps the times; the inodes are new
    release_module.read_release(copy)
    assert set(hashed) == {n for n in release_module.read_manifest(copy).files} - {
        "model.pkl",
        "segmenter.json",
        "profile.json",
        "report.html",
    }  # (those few are read whole and hashed as bytes, always)

    hashed.clear()
    written = table.stat()
    os.utime(manifest, ns=(written.st_mtime_ns, written.st_mtime_ns))
    release_module.read_release(folder)  # sealed in the tick the table was written
    assert "customers.arrow" in hashed

    after_a_clock_tick(table)
    with table.open("r+b") as file:  # same size, same inode
        file.seek(written.st_size // 2)
        byte = file.read(1)
        file.seek(-1, os.SEEK_CUR)
        file.write(bytes([byte[0] ^ 0xFF]))
    os.utime(table, ns=(written.st_atime_ns, written.st_mtime_ns))
    os.utime(manifest, ns=(sealed, sealed))
    with pytest.raises(
        release_module.InvalidRelease, match=r"customers\.arrow does not"
    ):
        release_module.read_release(folder)


def test_a_customers_row_and_history_are_read_straight_from_the_mapped_tables(
    released,
):
    """The API's lookups read a value per column (not a one-row table) and a column
    of snapshots per array: for every customer, the same as the tables say."""
    folder = ReleaseFolder(released / RELEASES)
    release = folder.load(folder.versions()[0])
    rows = release.customers.to_pylist()
    h = release.history
    for position, row in enumerate(rows):
        assert release.customer(position) == row
        assert release.customer_history(position) == [
            {
                "snapshot": h.snapshots[s],
                **{f: getattr(h, f)[s, position].item() for f in FEATURE_TYPES},
                "segment_name": h.segment_names[h.codes[s, position]],
            }
            for s in range(len(h.snapshots))
            if h.codes[s, position] != ABSENT
        ]


def test_customers_are_found_by_id_in_the_mapped_table_however_it_is_chunked(
    released,
):
    """Every id of a published table at its row, absent ids nowhere; and in tables
    of one sliced chunk or several, with ids beyond ASCII (sorted by their bytes,
    as Arrow sorts them)."""
    folder = ReleaseFolder(released / RELEASES)
    release = folder.load(folder.versions()[0])
    ids = release.customers.column("customer_id").to_pylist()
    assert all(release.position(i) == row for row, i in enumerate(ids))
    assert release.position("") is release.position(ids[-1] + "0") is None
    names = sorted(["17850", "17850.0", "Zoë", "zoe", "Émile", "émile", "ß", "日本"])
    for column in (
        pa.chunked_array([names], pa.large_string()).slice(1),
        pa.chunked_array([names[:4], names[4:]], pa.string()).slice(1),
    ):
        table = replace(release, customers=pa.table({"customer_id": column}))
        assert [table.position(n) for n in names] == [None, *range(len(names) - 1)]
        assert [table.positions_after(n) for n in names] == list(range(len(names)))
