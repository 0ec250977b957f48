"""Releases: everything one run publishes for the API, as one aggregate in one folder.

A release is the fitted model, its segment profile, the customer table, the segment
history and the migration tables of one run: ``<root>/<version>/`` with

- ``model.pkl`` (the fitted scikit-learn Pipeline), ``segmenter.json`` (its
  arithmetic, which the API applies: it never imports scikit-learn nor unpickles),
  ``profile.json``;
- ``customers.arrow``: the customer table, sorted by customer id (Arrow IPC, read
  memory-mapped: a worker maps it, it never loads it whole);
- ``history_<feature>.npy``: codes and features at each snapshot, (snapshots x
  customers) aligned with the table's rows (memory-mapped too);
- ``migrations.parquet``: customers moving between segments, every two snapshots;
- ``report.html``: the run's report page, when it has one (``GET /report``);
- ``manifest.json``, written last: version, as-of date, snapshots, the run's input
  and row counts, and each file's sha256 and size.

It is written under a hidden name (``.<version>.partial-<pid>``), renamed to
``.<version>.staged`` once complete, and renamed into place only when the whole run
has succeeded (``ReleaseFolder.commit_staged``, called by the project's hooks), so a
reader never sees half a release and a failed run publishes nothing. Reading checks
every file against the manifest before parsing, mapping or unpickling anything: its
size, and its sha256 unless the file system shows the file untouched since the run
wrote it (the inode and times the manifest recorded; a copied, rewritten or touched
file is hashed in full), so a worker starts without reading gigabytes.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import os
import pickle
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import ipc
from pydantic import BaseModel, Field, ValidationError

from .assignment import Segmenter, SegmenterArithmetic
from .history import ABSENT, FEATURE_TYPES, SegmentHistory, same_ids
from .profile import SegmentProfile

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

logger = logging.getLogger(__name__)

FORMAT = 2
MANIFEST = "manifest.json"
MODEL_FILE = "model.pkl"
SEGMENTER_FILE = "segmenter.json"
PROFILE_FILE = "profile.json"
CUSTOMERS_FILE = "customers.arrow"
MIGRATIONS_FILE = "migrations.parquet"
REPORT_FILE = "report.html"  # optional: a release without one serves no report
HISTORY_ARRAYS = {"codes": np.int8, **FEATURE_TYPES}
DATE_COLUMNS = ("as_of", "first_purchase", "last_purchase")
CATEGORY_COLUMNS = ("segment_name", "name_reason", "rfm_score")
REQUIRED_COLUMNS = ("customer_id", "cluster_label", "segment_name", "as_of")
STAGED, PARTIAL = ".staged", ".partial-"


def history_file(array: str) -> str:
    return f"history_{array}.npy"


class FileStamp(BaseModel):
    """What the file system said of a file once it was written: while it says the
    same, the file holds the bytes the sha256 was taken of (a write or a reset
    modification time changes the change time, which only the kernel sets on Linux;
    a copy or a replacement is another inode)."""

    inode: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileStamp:
        return cls(
            inode=stat.st_ino, mtime_ns=stat.st_mtime_ns, ctime_ns=stat.st_ctime_ns
        )


class FileEntry(BaseModel):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)
    written: FileStamp | None = None  # None: always hashed


class RunInput(BaseModel):
    """The run's raw input, as found when the run started."""

    path: str
    bytes: int | None = None
    modified_at: datetime | None = None

    @classmethod
    def of(cls, path: str) -> RunInput:
        """``path`` with its size and modification time when it is a local file."""
        try:
            stat = Path(path).stat()
        except OSError:
            return cls(path=path)
        return cls(
            path=path,
            bytes=stat.st_size,
            modified_at=datetime.fromtimestamp(stat.st_mtime, UTC),
        )


class Manifest(BaseModel):
    format: Literal[2] = FORMAT
    version: str
    created_at: datetime
    as_of: date
    snapshots: list[date]
    input: RunInput | None
    rows: dict[str, int] = Field(description="Rows read, kept, customers, ...")
    files: dict[str, FileEntry]


class InvalidRelease(ValueError):
    """A release folder that cannot be served; the message says why (no paths)."""


@dataclass(frozen=True)
class SkippedRelease:
    version: str
    reason: str


class NoValidRelease(LookupError):
    """No release could be loaded; ``skipped`` says what was tried."""

    def __init__(self, skipped: list[SkippedRelease]) -> None:
        super().__init__(skipped)
        self.skipped = skipped


@dataclass(frozen=True)
class Release:
    """One run's model, profile, customer table, segment history and migrations.

    The pipelines build it in memory (``Release.build``); a published one is opened
    from its folder with the tables memory-mapped (``ReleaseFolder.load``). Either
    way the customer table is sorted by customer id and the history's columns are
    its rows."""

    model: Pipeline | None  # None when opened without it (the API)
    arithmetic: SegmenterArithmetic
    profile: SegmentProfile
    customers: pa.Table
    history: SegmentHistory
    migrations: pd.DataFrame
    rows: dict[str, int]
    input: RunInput | None = None
    version: str | None = None
    created_at: datetime | None = None
    report: bytes | None = None  # the report page (HTML), when the run wrote one

    @classmethod
    def build(
        cls,
        model: Pipeline,
        arithmetic: SegmenterArithmetic,
        profile: SegmentProfile,
        *,
        customers: pd.DataFrame,
        history: SegmentHistory,
        migrations: pd.DataFrame,
        rows: dict[str, int],
        report: str | None = None,
    ) -> Release:
        """The aggregate of one run; ``history`` must list the table's customers in
        the table's order (the segment_history pipeline builds it so)."""
        if len(arithmetic.centroids) != profile.n_clusters:
            raise ValueError("the model's arithmetic is not the profile's k clusters")
        if not same_ids(history.customer_ids, customers["customer_id"].array):
            raise ValueError("the history does not list the customer table's customers")
        ids = pa.array(customers["customer_id"].astype(str))
        if pc.any(pc.greater(ids[:-1], ids[1:])).as_py():  # the pipelines sort them
            order = pc.sort_indices(ids).to_numpy()
            customers = customers.iloc[order]
            history = _history_reordered(history, order)
        return cls(
            model,
            arithmetic,
            profile,
            _arrow_table(customers),
            history,
            migrations,
            dict(rows),
            report=None if report is None else report.encode(),
        )

    @cached_property
    def segmenter(self) -> Segmenter:
        return Segmenter.of(self.arithmetic, self.profile.naming)

    @cached_property
    def migrations_by_pair(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """The migration table's rows by (from, to) snapshot, without those two."""
        return {
            (begin, to): rows.drop(columns=["from", "to"]).to_dict("records")
            for (begin, to), rows in self.migrations.groupby(
                ["from", "to"], sort=False, observed=True
            )
        }

    @cached_property
    def _ids(self) -> _SortedIds:
        return _SortedIds(self.customers.column("customer_id"))

    def position(self, customer_id: str) -> int | None:
        """The customer's row in the table (and column in the history), or None."""
        key, ids = customer_id.encode(), self._ids
        at = bisect.bisect_left(ids, key)
        return at if at < len(ids) and ids[at] == key else None

    @cached_property
    def _columns(self) -> list[tuple[str, pa.ChunkedArray]]:
        return list(
            zip(self.customers.column_names, self.customers.columns, strict=True)
        )

    def customer(self, position: int) -> dict[str, Any]:
        # a value per column: a quarter of the time of a one-row table's to_pylist
        return {name: column[position].as_py() for name, column in self._columns}

    def customer_history(self, position: int) -> list[dict[str, Any]]:
        """The customer's snapshots, from the first after their first purchase."""
        h = self.history
        # one read per array (a column of snapshots), not one per snapshot
        features = {f: getattr(h, f)[:, position].tolist() for f in FEATURE_TYPES}
        codes = h.codes[:, position].tolist()
        return [
            {
                "snapshot": snapshot,
                **{f: values[s] for f, values in features.items()},
                "segment_name": h.segment_names[code],
            }
            for s, (snapshot, code) in enumerate(zip(h.snapshots, codes, strict=True))
            if code != ABSENT
        ]

    def rows_at(self, positions: np.ndarray) -> pa.Table:
        return self.customers.take(pa.array(positions, type=pa.int64()))

    def positions_after(self, customer_id: str | None) -> int:
        """The first row whose id sorts after ``customer_id`` (a page cursor)."""
        if customer_id is None:
            return 0
        return bisect.bisect_right(self._ids, customer_id.encode())


class _SortedIds:
    """The table's sorted id column as a sequence of UTF-8 bytes, for ``bisect``
    (Arrow sorts text by its bytes): each id read is a slice of the column's data
    between two of its offsets, both read in place from the (mapped) Arrow
    buffers, about twice as fast as an Arrow scalar per id."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        # a release's table is one chunk, read in place (combine_chunks copies)
        ids = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
        offsets, data = ids.buffers()[1:3]
        width = np.int64 if pa.types.is_large_string(ids.type) else np.int32
        self.offsets = np.frombuffer(offsets, dtype=width)[
            ids.offset : ids.offset + len(ids) + 1
        ]
        self.data = memoryview(data or b"")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> bytes:
        return self.data[self.offsets[index] : self.offsets[index + 1]].tobytes()


def _history_reordered(history: SegmentHistory, order: np.ndarray) -> SegmentHistory:
    return replace(
        history,
        customer_ids=history.customer_ids[order],
        **{name: getattr(history, name)[:, order] for name in HISTORY_ARRAYS},
    )


def _arrow_table(customers: pd.DataFrame) -> pa.Table:
    """The customer table as Arrow: ids as text, dates as dates, repeated labels
    dictionary-encoded."""
    table = pa.Table.from_pandas(
        customers.astype({"customer_id": str}), preserve_index=False
    )
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_dictionary(column.type):  # a pandas category
            column = _from_category(name, column)
        elif name in DATE_COLUMNS:
            column = _dates(column)
        elif name != "customer_id" and _is_text(column.type):
            column = column.cast(pa.large_string())
            if name in CATEGORY_COLUMNS:
                column = pc.dictionary_encode(column)
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table.combine_chunks().unify_dictionaries()


def _from_category(name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A pandas category column as the release stores its text: dates as dates and
    labels dictionary-encoded, each value converted once, or else plain text."""
    column = column.cast(pa.dictionary(pa.int32(), pa.large_string()))
    if name in DATE_COLUMNS:
        chunks = [_dates(c.dictionary).take(c.indices) for c in column.chunks]
        return pa.chunked_array(chunks, pa.date32())
    return column if name in CATEGORY_COLUMNS else column.cast(pa.large_string())


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _dates(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    return pc.cast(pc.strptime(text, "%Y-%m-%d", "s"), pa.date32())


# --- writing ---------------------------------------------------------------------


def write_release(
    root: Path, release: Release, version: str, run_input: RunInput | None
) -> Path:
    """Write ``release`` as ``root/.<version>.staged``, complete with its manifest;
    ``ReleaseFolder.commit_staged`` puts it in place. A failed write removes what
    it wrote."""
    root.mkdir(parents=True, exist_ok=True)
    if (root / version).exists():
        raise FileExistsError(f"{root.name}/{version} already exists")
    partial = root / f".{version}{PARTIAL}{os.getpid()}"
    partial.mkdir()
    try:
        files = _write_files(partial, release)
        history = release.history
        manifest = Manifest(
            version=version,
            created_at=datetime.now(UTC),
            as_of=release.profile.as_of,
            snapshots=list(history.snapshots),
            input=run_input,
            rows={
                **release.rows,
                "customers": release.customers.num_rows,
                "history": int((history.codes != ABSENT).sum()),
                "migrations": len(release.migrations),
            },
            files=files,
        )
        _write(partial / MANIFEST, lambda f: f.write(_json(manifest)))
        staged = root / f".{version}{STAGED}"
        partial.rename(staged)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return staged


def _write_files(folder: Path, release: Release) -> dict[str, FileEntry]:
    writers: dict[str, Callable[[IO[bytes]], Any]] = {
        MODEL_FILE: lambda f: pickle.dump(release.model, f, protocol=5),
        SEGMENTER_FILE: lambda f: f.write(_json(release.arithmetic)),
        PROFILE_FILE: lambda f: f.write(_json(release.profile)),
        CUSTOMERS_FILE: lambda f: _write_arrow(f, release.customers),
        MIGRATIONS_FILE: lambda f: release.migrations.to_parquet(f, index=False),
        **{
            history_file(name): _array_writer(getattr(release.history, name), dtype)
            for name, dtype in HISTORY_ARRAYS.items()
        },
    }
    if release.report is not None:
        writers[REPORT_FILE] = lambda f: f.write(release.report)
    return {name: _write(folder / name, write) for name, write in writers.items()}


def _array_writer(array: np.ndarray, dtype: type) -> Callable[[IO[bytes]], None]:
    return lambda f: np.save(f, np.ascontiguousarray(array, dtype=dtype))


def _write_arrow(file: IO[bytes], table: pa.Table) -> None:
    with ipc.new_file(file, table.schema) as writer:
        writer.write_table(table)


def _write(path: Path, write: Callable[[IO[bytes]], Any]) -> FileEntry:
    """Write a new file through ``write``, flushed to disk; its sha256, size and
    stamp."""
    with path.open("xb") as file:
        write(file)
        file.flush()
        os.fsync(file.fileno())
    stat = path.stat()
    return FileEntry(
        sha256=_sha256_of(path), bytes=stat.st_size, written=FileStamp.of(stat)
    )


def _json(model: BaseModel) -> bytes:
    return model.model_dump_json(indent=2).encode()


def _sha256_of(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


# --- reading ---------------------------------------------------------------------


def read_release(folder: Path, with_model: bool = False) -> Release:
    """Open and verify one release folder; InvalidRelease says what is wrong. The
    pickled model is hashed always but unpickled only ``with_model`` (the API never
    needs it: the segmenter's arithmetic is stored as JSON)."""
    manifest = read_manifest(folder)
    sealed_ns = (folder / MANIFEST).stat().st_mtime_ns
    for name in manifest.files:
        if name not in (MODEL_FILE, PROFILE_FILE, SEGMENTER_FILE, REPORT_FILE):
            _verified(folder, manifest, name, sealed_ns)
    try:
        profile = SegmentProfile.model_validate_json(
            _verified_bytes(folder, manifest, PROFILE_FILE)
        )
    except ValidationError as error:
        raise InvalidRelease(
            f"{PROFILE_FILE} is not a valid segment profile: {_first_error(error)}"
        ) from None
    try:
        arithmetic = SegmenterArithmetic.model_validate_json(
            _verified_bytes(folder, manifest, SEGMENTER_FILE)
        )
        Segmenter.of(arithmetic, profile.naming)
    except (ValidationError, ValueError) as error:
        raise InvalidRelease(
            f"{SEGMENTER_FILE} is not the model its profile describes: {error}"
        ) from None
    payload = _verified_bytes(folder, manifest, MODEL_FILE)
    model = _unpickled_model(payload, arithmetic, profile) if with_model else None
    try:
        customers = ipc.open_file(
            pa.memory_map(str(folder / CUSTOMERS_FILE))
        ).read_all()
    except pa.ArrowInvalid as error:
        raise InvalidRelease(f"unreadable table: {error}") from None
    _check_customers(customers, manifest, profile)
    history = _mapped_history(folder, manifest, profile, customers)
    return Release(
        model=model,
        arithmetic=arithmetic,
        profile=profile,
        customers=customers,
        history=history,
        migrations=pd.read_parquet(folder / MIGRATIONS_FILE),
        rows=manifest.rows,
        input=manifest.input,
        version=manifest.version,
        created_at=manifest.created_at,
        report=_verified_bytes(folder, manifest, REPORT_FILE)
        if REPORT_FILE in manifest.files
        else None,
    )


def _unpickled_model(
    payload: bytes, arithmetic: SegmenterArithmetic, profile: SegmentProfile
) -> Pipeline:
    """The verified pickle, checked to be the model the segmenter applies."""
    from .model import arithmetic_of, check_model  # noqa: PLC0415 - scikit-learn on demand

    try:
        model = pickle.loads(payload)
        check_model(model, profile)
        if arithmetic_of(model) != arithmetic:
            raise ValueError(f"it is not the model {SEGMENTER_FILE} describes")
    except Exception as error:  # unpickling fails in many ways
        raise InvalidRelease(
            f"{MODEL_FILE} is not the model its profile describes: {error}"
        ) from None
    return model


def read_manifest(folder: Path) -> Manifest:
    try:
        manifest = Manifest.model_validate_json((folder / MANIFEST).read_bytes())
    except FileNotFoundError:
        raise InvalidRelease(
            "no manifest: an unfinished run, or not a release"
        ) from None
    except ValidationError as error:
        if '"format": 1' in (folder / MANIFEST).read_text(errors="replace"):
            raise InvalidRelease(
                "a release of an older format: run `kedro run` to publish a new one"
            ) from None
        raise InvalidRelease(f"invalid manifest: {_first_error(error)}") from None
    if manifest.version != folder.name:
        raise InvalidRelease(f"its manifest names version {manifest.version}")
    expected = {
        MODEL_FILE,
        SEGMENTER_FILE,
        PROFILE_FILE,
        CUSTOMERS_FILE,
        MIGRATIONS_FILE,
    } | {history_file(name) for name in HISTORY_ARRAYS}
    if missing := sorted(expected - set(manifest.files)):
        raise InvalidRelease(f"its manifest lists no {', '.join(missing)}")
    return manifest


def _verified(folder: Path, manifest: Manifest, name: str, sealed_ns: int) -> None:
    """The file matches its manifest entry: its size, then its sha256 unless the
    file is untouched since it was written. Untouched is its stamp, and a
    modification time before the manifest's (``sealed_ns``): a write in the same
    clock tick as the stamp would not change it, so such a file is hashed."""
    entry = manifest.files[name]
    path = folder / name
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise InvalidRelease(f"{name} is missing") from None
    untouched = entry.written == FileStamp.of(stat) and stat.st_mtime_ns < sealed_ns
    if stat.st_size != entry.bytes or (
        not untouched and _sha256_of(path) != entry.sha256
    ):
        raise InvalidRelease(
            f"{name} does not match the sha256 in its manifest (torn or replaced)"
        )


def _verified_bytes(folder: Path, manifest: Manifest, name: str) -> bytes:
    """The file's bytes, checked against its manifest entry before any use."""
    try:
        payload = (folder / name).read_bytes()
    except FileNotFoundError:
        raise InvalidRelease(f"{name} is missing") from None
    if hashlib.sha256(payload).hexdigest() != manifest.files[name].sha256:
        raise InvalidRelease(
            f"{name} does not match the sha256 in its manifest (torn or replaced)"
        )
    return payload


def _mapped_history(
    folder: Path, manifest: Manifest, profile: SegmentProfile, customers: pa.Table
) -> SegmentHistory:
    try:
        arrays = {
            name: np.load(folder / history_file(name), mmap_mode="r")
            for name in HISTORY_ARRAYS
        }
    except ValueError as error:
        raise InvalidRelease(f"unreadable history: {error}") from None
    shape = (len(manifest.snapshots), customers.num_rows)
    if any(array.shape != shape for array in arrays.values()):
        raise InvalidRelease(
            f"the history's arrays are not {shape[0]} snapshots x {shape[1]} customers"
        )
    return SegmentHistory(
        customer_ids=np.empty(0, dtype=object),  # published: positions are rows
        snapshots=tuple(d.isoformat() for d in manifest.snapshots),
        segment_names=profile.segment_names,
        **arrays,
    )


def _check_customers(
    customers: pa.Table, manifest: Manifest, profile: SegmentProfile
) -> None:
    names = customers.column_names
    if missing := [c for c in REQUIRED_COLUMNS if c not in names]:
        raise InvalidRelease(f"{CUSTOMERS_FILE} lacks columns {missing}")
    if customers.num_rows != manifest.rows["customers"]:
        raise InvalidRelease(f"{CUSTOMERS_FILE} row count differs from its manifest")
    ids = customers.column("customer_id")
    if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        raise InvalidRelease(f"{CUSTOMERS_FILE} customer ids are {ids.type}, not text")
    if ids.null_count:
        raise InvalidRelease(
            f"{CUSTOMERS_FILE} has {ids.null_count:,} rows without a customer id"
        )
    if len(ids) > 1 and not pc.all(pc.greater(ids[1:], ids[:-1])).as_py():
        raise InvalidRelease(
            f"{CUSTOMERS_FILE} is not sorted by customer id, or lists one twice"
        )
    counts = {
        row["values"]: row["counts"]
        for row in pc.value_counts(customers.column("segment_name")).to_pylist()
    }
    expected = {s.segment_name: s.customers for s in profile.segments if s.customers}
    if counts != expected:
        raise InvalidRelease(
            f"{CUSTOMERS_FILE} segment counts disagree with the profile"
        )


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(root)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


# --- the folder of releases --------------------------------------------------------


class ReleaseFolder:
    """The releases under one folder, newest first; opened lazily, like Kedro's
    PartitionedDataset, so that a reader chooses which one to load."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def versions(self) -> list[str]:
        """Release folder names, newest first (hidden folders are unfinished)."""
        if not self.root.is_dir():
            return []
        names = (p.name for p in self.root.iterdir() if p.is_dir())
        return sorted((n for n in names if not n.startswith(".")), reverse=True)

    def load(self, version: str, with_model: bool = False) -> Release:
        if version not in self.versions():
            raise InvalidRelease("no such release")
        return read_release(self.root / version, with_model)

    def newest_valid(
        self, with_model: bool = False
    ) -> tuple[Release, list[SkippedRelease]]:
        """The newest release that verifies, and the newer ones skipped, with why."""
        skipped = []
        for version in self.versions():
            try:
                return read_release(self.root / version, with_model), skipped
            except InvalidRelease as error:
                skipped.append(SkippedRelease(version, str(error)))
        raise NoValidRelease(skipped)

    def newest_complete_version(self) -> str | None:
        """The newest release with a valid manifest (its files are not hashed)."""
        for version in self.versions():
            try:
                read_manifest(self.root / version)
            except InvalidRelease:
                continue
            return version
        return None

    def staged(self) -> list[Path]:
        return sorted(self.root.glob(f".*{STAGED}")) if self.root.is_dir() else []

    def commit_staged(self) -> list[str]:
        """Put every staged release in place (the last step of a successful run)."""
        committed = []
        for folder in self.staged():
            version = folder.name[1 : -len(STAGED)]
            folder.rename(self.root / version)
            committed.append(version)
        return committed

    def discard_unfinished(self) -> list[str]:
        """Remove staged and partial releases (of a failed or killed run)."""
        leftovers = [*self.staged(), *self.root.glob(f".*{PARTIAL}*")]
        for folder in leftovers:
            shutil.rmtree(folder, ignore_errors=True)
        return [folder.name for folder in leftovers]

    def prune(self, keep: int, protect: Iterable[str] = ()) -> list[str]:
        """Delete all but the newest ``keep`` releases (0: keep all), never the
        newest complete one nor a ``protect``-ed version; the versions deleted."""
        if keep <= 0:
            return []
        spared = {*protect, self.newest_complete_version()}
        pruned = [v for v in self.versions()[keep:] if v not in spared]
        for version in pruned:
            shutil.rmtree(self.root / version)
        return pruned
