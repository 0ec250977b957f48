"""Releases: the fitted model, its segment profile and the customer table of one run,
published together under one version.

A release is a folder ``<root>/<version>/`` holding ``model.pkl``, ``profile.json``,
``customers.parquet`` and, written last, ``manifest.json`` (version, created-at, each
file's sha256, size and row count). It is written under a hidden temporary name and
renamed into place when complete, so a reader never sees half a release; a folder
without a valid manifest is not a release. Reading checks every file against the
manifest *before* unpickling: a torn or swapped model is refused, never run.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, Field, ValidationError
from sklearn.pipeline import Pipeline

from .model import FEATURES
from .profile import SegmentProfile

MANIFEST = "manifest.json"
MODEL_FILE = "model.pkl"
PROFILE_FILE = "profile.json"
CUSTOMERS_FILE = "customers.parquet"
RELEASE_FILES = (MODEL_FILE, PROFILE_FILE, CUSTOMERS_FILE)
CUSTOMER_COLUMNS = ("customer_id", *FEATURES, "cluster_label", "segment_name")


class FileEntry(BaseModel):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)
    rows: int | None = Field(default=None, ge=0)


class Manifest(BaseModel):
    format: Literal[1] = 1
    version: str
    created_at: datetime
    files: dict[str, FileEntry]


@dataclass(frozen=True)
class ReleaseContent:
    """What one clustering run publishes."""

    model: Pipeline
    profile: SegmentProfile
    customers: pd.DataFrame  # customer_segments: customer_id, features, segment


@dataclass(frozen=True)
class Release:
    """A published, verified release."""

    version: str
    created_at: datetime
    model: Pipeline
    profile: SegmentProfile
    customers: pd.DataFrame  # indexed by customer_id (text)


@dataclass(frozen=True)
class SkippedRelease:
    version: str
    reason: str


class InvalidRelease(ValueError):
    """A release folder that cannot be served; the message says why (no paths)."""


class NoValidRelease(LookupError):
    """No release could be loaded; ``skipped`` says what was tried."""

    def __init__(self, skipped: list[SkippedRelease]) -> None:
        super().__init__(skipped)
        self.skipped = skipped


def write_release(root: Path, content: ReleaseContent, version: str) -> Path:
    """Write ``content`` as release ``version`` under ``root``; visible only once complete."""
    content.profile.check_model(content.model)
    customers = content.customers.reset_index(drop=True)
    return publish_folder(
        root,
        version,
        {
            MODEL_FILE: (pickle.dumps(content.model, protocol=5), None),
            PROFILE_FILE: (content.profile.model_dump_json(indent=2).encode(), None),
            CUSTOMERS_FILE: (parquet_bytes(customers), len(customers)),
        },
    )


def publish_folder(
    root: Path, version: str, payloads: dict[str, tuple[bytes, int | None]]
) -> Path:
    """Files as folder ``root/version``, with a manifest written last, renamed into
    place when complete."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / version
    if final.exists():
        raise FileExistsError(f"{final.parent.name}/{version} already exists")
    staging = root / f".{version}.partial-{os.getpid()}"
    staging.mkdir()
    files = {}
    for name, (payload, rows) in payloads.items():
        _write_synced(staging / name, payload)
        files[name] = FileEntry(sha256=_sha256(payload), bytes=len(payload), rows=rows)
    manifest = Manifest(version=version, created_at=datetime.now(UTC), files=files)
    _write_synced(staging / MANIFEST, manifest.model_dump_json(indent=2).encode())
    staging.rename(final)
    return final


def read_release(folder: Path) -> Release:
    """Load and verify one release folder; InvalidRelease says what is wrong."""
    manifest, payloads = read_folder(folder, RELEASE_FILES)
    try:
        profile = SegmentProfile.model_validate_json(payloads[PROFILE_FILE])
    except ValidationError as error:
        raise InvalidRelease(
            f"{PROFILE_FILE} is not a valid segment profile: {_first_error(error)}"
        ) from None
    try:
        model = pickle.loads(payloads[MODEL_FILE])
        profile.check_model(model)
    except Exception as error:  # unpickling fails in many ways
        raise InvalidRelease(
            f"{MODEL_FILE} is not the model its profile describes: {error}"
        ) from None
    customers = _verified_customers(payloads[CUSTOMERS_FILE], manifest, profile)
    return Release(manifest.version, manifest.created_at, model, profile, customers)


class ReleaseFolder:
    """The releases under one folder, newest first; loaded lazily, like Kedro's
    PartitionedDataset, so that a reader chooses which one to load."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def versions(self) -> list[str]:
        """Release folder names, newest first (hidden folders are unfinished writes)."""
        if not self.root.is_dir():
            return []
        names = (p.name for p in self.root.iterdir() if p.is_dir())
        return sorted((n for n in names if not n.startswith(".")), reverse=True)

    def load(self, version: str) -> Release:
        if version not in self.versions():
            raise InvalidRelease("no such release")
        return read_release(self.root / version)

    def newest_valid(self) -> tuple[Release, list[SkippedRelease]]:
        """The newest release that verifies, and the newer ones skipped, with why."""
        skipped = []
        for version in self.versions():
            try:
                return read_release(self.root / version), skipped
            except InvalidRelease as error:
                skipped.append(SkippedRelease(version, str(error)))
        raise NoValidRelease(skipped)


def read_folder(
    folder: Path, names: tuple[str, ...]
) -> tuple[Manifest, dict[str, bytes]]:
    """A published folder's manifest and the named files, each checked against it."""
    try:
        manifest = Manifest.model_validate_json((folder / MANIFEST).read_bytes())
    except FileNotFoundError:
        raise InvalidRelease(
            "no manifest: an unfinished run, or not a release"
        ) from None
    except ValidationError as error:
        raise InvalidRelease(f"invalid manifest: {_first_error(error)}") from None
    if manifest.version != folder.name:
        raise InvalidRelease(f"its manifest names version {manifest.version}")
    return manifest, {name: _verified(folder, manifest, name) for name in names}


def _verified(folder: Path, manifest: Manifest, name: str) -> bytes:
    entry = manifest.files.get(name)
    if entry is None:
        raise InvalidRelease(f"its manifest lists no {name}")
    try:
        payload = (folder / name).read_bytes()
    except FileNotFoundError:
        raise InvalidRelease(f"{name} is missing") from None
    if _sha256(payload) != entry.sha256:
        raise InvalidRelease(
            f"{name} does not match the sha256 in its manifest (torn or replaced)"
        )
    return payload


def _verified_customers(
    payload: bytes, manifest: Manifest, profile: SegmentProfile
) -> pd.DataFrame:
    customers = pd.read_parquet(io.BytesIO(payload))
    missing = [c for c in CUSTOMER_COLUMNS if c not in customers.columns]
    if missing:
        raise InvalidRelease(f"{CUSTOMERS_FILE} lacks columns {missing}")
    if len(customers) != manifest.files[CUSTOMERS_FILE].rows:
        raise InvalidRelease(f"{CUSTOMERS_FILE} row count differs from its manifest")
    if not customers["customer_id"].is_unique:
        raise InvalidRelease(f"{CUSTOMERS_FILE} lists a customer twice")
    labels = customers["cluster_label"].to_numpy()
    names = pd.Series(profile.names).reindex(labels).to_numpy()
    if (names != customers["segment_name"].to_numpy()).any():
        raise InvalidRelease(
            f"{CUSTOMERS_FILE} segment names disagree with the profile"
        )
    return customers.astype({"customer_id": str}).set_index("customer_id")


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _write_synced(path: Path, payload: bytes) -> None:
    with path.open("xb") as file:
        file.write(payload)
        file.flush()
        os.fsync(file.fileno())


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(root)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"
