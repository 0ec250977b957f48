"""Runs that fail part-way, and release folders damaged after the fact: the API,
restarted, always serves a complete release whose parts agree with each other."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from kedro.framework.hooks import hook_impl
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from rfm_segmentation import release as release_module
from rfm_segmentation.api.app import create_app
from rfm_segmentation.api.settings import ApiSettings
from rfm_segmentation.slices import pipeline_of

from .support import RELEASES, make_project, run_kedro

CLUSTERING_SAVES = sorted(pipeline_of("clustering").all_outputs())
BEFORE_PUBLISHING = pipeline_of("clustering").to_outputs("model_release").all_outputs()


class FailAfterSaving:
    """A hook that ends the run right after one dataset has been saved."""

    def __init__(self, dataset: str) -> None:
        self.dataset = dataset

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        if dataset_name == self.dataset:
            raise RuntimeError(f"killed after saving {dataset_name}")


@pytest.fixture(scope="module")
def released(tmp_path_factory, small_transactions) -> Path:
    """A project with one complete release (k = 4)."""
    project = make_project(tmp_path_factory.mktemp("released"), small_transactions)
    run_kedro(project)
    return project


@pytest.fixture
def project(released, tmp_path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(released, copy)
    return copy


def versions(project: Path) -> list[str]:
    return sorted(p.name for p in (project / RELEASES).iterdir())


def assert_served_release_is_whole(project: Path, version: str) -> dict:
    """A freshly started API serves ``version``, and every customer of its table has
    the segment /segment gives for the customer's own values."""
    app = create_app(ApiSettings(project_path=project))
    with TestClient(app) as client:
        info = client.get("/api/v1/model").json()
        assert info["version"] == version
        customers = app.state.store.current.release.customers
        batch = [
            {"customer_id": customer_id, **row}
            for customer_id, row in customers[
                ["recency", "frequency", "monetary"]
            ].iterrows()
        ]
        answers = client.post("/api/v1/segment/batch", json={"customers": batch})
        by_segment = {
            r["customer_id"]: r["segment_name"] for r in answers.json()["results"]
        }
        for customer_id in customers.index:
            looked_up = client.get(f"/api/v1/customers/{customer_id}").json()
            assert looked_up["segment_name"] == by_segment[customer_id]
    return info


@pytest.mark.parametrize("dataset", CLUSTERING_SAVES)
def test_a_run_failing_after_any_save_leaves_a_whole_release_served(project, dataset):
    (before,) = versions(project)
    bootstrap_project(project)
    with KedroSession.create(
        project_path=project, runtime_params={"clustering": {"n_clusters": 3}}
    ) as session:
        session._hook_manager.register(FailAfterSaving(dataset))
        with pytest.raises(RuntimeError, match=f"killed after saving {dataset}"):
            session.run(pipeline_names=["clustering"])
    after = versions(project)
    if dataset == "model_release":  # the release itself was complete
        assert len(after) == 2
    elif dataset in BEFORE_PUBLISHING:
        assert after == [before]
    info = assert_served_release_is_whole(project, max(after))
    assert info["n_clusters"] == (3 if len(after) == 2 else 4)


def test_a_run_killed_while_writing_the_release_publishes_nothing(project, monkeypatch):
    (before,) = versions(project)
    real_write = release_module._write_synced

    def die_on_manifest(path: Path, payload: bytes) -> None:
        if path.name == release_module.MANIFEST:
            raise KeyboardInterrupt("killed before the manifest")
        real_write(path, payload)

    monkeypatch.setattr(release_module, "_write_synced", die_on_manifest)
    with pytest.raises(KeyboardInterrupt):
        run_kedro(project, pipeline_names=["clustering"])
    hidden = [p.name for p in (project / RELEASES).iterdir() if p.name.startswith(".")]
    assert len(hidden) == 1 and ".partial-" in hidden[0]
    assert versions(project) == sorted([before, *hidden])
    assert_served_release_is_whole(project, before)


def resign(folder: Path) -> None:
    """Rewrite a release's manifest to match its files, as a careless copy would."""
    manifest = json.loads((folder / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        entry["sha256"] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
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


def _unknown_segment_name(folder: Path) -> None:
    profile = folder / "profile.json"
    profile.write_text(profile.read_text().replace('"Champions"', '"VIP"'))
    resign(folder)


def _emptied_table(folder: Path) -> None:
    (folder / "customers.parquet").write_bytes(b"")


def _truncated_table(folder: Path) -> None:
    customers = pd.read_parquet(folder / "customers.parquet")
    customers.head(10).to_parquet(folder / "customers.parquet", index=False)
    resign(folder)


def _table_of_another_model(folder: Path) -> None:
    customers = pd.read_parquet(folder / "customers.parquet")
    customers["cluster_label"] = (customers["cluster_label"] + 1) % 4
    customers.to_parquet(folder / "customers.parquet", index=False)
    resign(folder)


def _no_manifest(folder: Path) -> None:
    (folder / "manifest.json").unlink()


def _swapped_model(folder: Path) -> None:
    (folder / "model.pkl").write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_unknown_segment_name, "Unknown segment name 'VIP'"),
        (_emptied_table, "customers.parquet does not match the sha256"),
        (_truncated_table, "row count differs from its manifest"),
        (_table_of_another_model, "segment names disagree with the profile"),
        (_no_manifest, "no manifest"),
        (_swapped_model, "model.pkl does not match the sha256"),
    ],
)
def test_a_damaged_newer_release_is_skipped_with_its_reason(project, damage, reason):
    (good,) = versions(project)
    bad = damaged_copy(project, damage)
    info = assert_served_release_is_whole(project, good)
    (skipped,) = info["skipped_releases"]
    assert skipped["version"] == bad.name
    assert reason in skipped["reason"]
