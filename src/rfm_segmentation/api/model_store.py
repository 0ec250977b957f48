"""The served release: loaded through the Kedro catalog, swapped atomically, and the
same in every worker.

Each worker holds one ``Release`` (its tables memory-mapped, shared with the other
workers through the page cache). A worker switches to a newer complete release by
itself: it checks the releases folder every ``RFM_RELOAD_SECONDS``, and before every
request it looks at the reload token that ``POST /api/v1/model/reload`` writes, so
that one reload call switches every worker of the host before their next answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from datetime import UTC, datetime
from functools import cached_property

from starlette.types import ASGIApp, Receive, Scope, Send

from rfm_segmentation.catalog import load_catalog
from rfm_segmentation.release import (
    InvalidRelease,
    NoValidRelease,
    Release,
    ReleaseFolder,
    SkippedRelease,
)

from .settings import ApiSettings

logger = logging.getLogger(__name__)

NO_MODEL_HINT = (
    "No trained model yet: run `make all` (or `kedro run`) first, then reload."
)


class ModelNotAvailable(RuntimeError):
    """No usable release could be loaded; the message says what to do (no paths)."""


class ModelStore:
    """Holds the current release. Requests take a reference when they start, so a
    reload never changes the release under a request; a failed reload keeps the
    old one."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.current: Release | None = None
        self.skipped: tuple[SkippedRelease, ...] = ()
        self.loaded_at: datetime | None = None
        self.last_error: str | None = NO_MODEL_HINT
        self._lock = asyncio.Lock()
        # the reload token, worked out once: it is stat'd before every request
        self._token = settings.reload_token
        self._token_seen = self._token_stamp()
        self._folder_seen: int | None = None

    @cached_property
    def releases(self) -> ReleaseFolder:
        """The catalog's ``model_release`` entry (read without the project's hooks)."""
        try:
            catalog = load_catalog(
                self.settings.project_path, self.settings.kedro_env, ["model_release"]
            )
            return catalog.load("model_release")
        except Exception as error:  # configuration problems of any kind
            logger.exception("Reading the catalog failed")
            raise ModelNotAvailable(
                "The project's catalog entry `model_release` could not be read; the "
                "server log says why."
            ) from error

    async def reload(self) -> Release:
        """Load the pinned release or the newest valid one, and serve it."""
        async with self._lock:
            try:
                release, skipped = await asyncio.to_thread(self._load)
            except ModelNotAvailable as error:
                if self.current is None:
                    self.last_error = str(error)
                logger.warning("Model load failed: %s", error)
                raise
            self._swap(release, skipped)
            return release

    async def reload_everywhere(self) -> Release:
        """``reload`` here, then tell the host's other workers (the reload token)."""
        release = await self.reload()
        token = self._token
        token.parent.mkdir(parents=True, exist_ok=True)
        token.write_text(f"{release.version} {os.getpid()} {datetime.now(UTC)}\n")
        self._token_seen = self._token_stamp()
        return release

    async def follow_token(self) -> None:
        """Before a request: if another worker was told to reload, reload too."""
        stamp = self._token_stamp()
        if stamp != self._token_seen:
            self._token_seen = stamp
            with contextlib.suppress(ModelNotAvailable):
                if self._newer_release_published(stamp_folder=False):
                    await self.reload()

    async def watch(self) -> None:
        """Every ``RFM_RELOAD_SECONDS``: serve a newer complete release if there is
        one (never with a pinned version)."""
        interval = self.settings.reload_seconds
        while interval and not self.settings.model_version:
            await asyncio.sleep(interval)
            with contextlib.suppress(ModelNotAvailable):
                if self._newer_release_published():
                    await self.reload()

    def _newer_release_published(self, stamp_folder: bool = True) -> bool:
        """A complete release other than the served one is the newest; unless
        ``stamp_folder`` is false, only checked when the folder changed."""
        if stamp_folder:
            try:
                stamp = self.releases.root.stat().st_mtime_ns
            except FileNotFoundError:
                return False
            if stamp == self._folder_seen:
                return False
            self._folder_seen = stamp
        newest = self.releases.newest_complete_version()
        serving = self.current.version if self.current else None
        return newest is not None and newest != serving

    def _open(self) -> tuple[Release, list[SkippedRelease]]:
        releases, pinned = self.releases, self.settings.model_version
        if pinned:
            try:
                return releases.load(pinned), []
            except InvalidRelease as error:
                raise ModelNotAvailable(
                    f"Release {pinned} (pinned by RFM_MODEL_VERSION) cannot be served: "
                    f"{error}. Unset RFM_MODEL_VERSION or pin another release."
                ) from error
        try:
            release, skipped = releases.newest_valid()
        except NoValidRelease as error:
            if not error.skipped:
                raise ModelNotAvailable(NO_MODEL_HINT) from error
            reasons = "; ".join(f"{s.version}: {s.reason}" for s in error.skipped)
            raise ModelNotAvailable(
                f"No release can be served ({reasons}). Run `kedro run` to publish one."
            ) from error
        for skip in skipped:
            logger.warning("Skipped release %s: %s", skip.version, skip.reason)
        return release, skipped

    def _load(self) -> tuple[Release, list[SkippedRelease]]:
        """The release to serve, with what its first requests would otherwise
        build (the migrations by snapshot pair) built here, off the event loop."""
        release, skipped = self._open()
        release.migrations_by_pair  # noqa: B018 (a cached property, built now)
        return release, skipped

    def _swap(self, release: Release, skipped: list[SkippedRelease]) -> None:
        """Serve ``release``; the one before is freed (memory maps included) once
        the last request holding it is answered."""
        self.skipped, self.loaded_at = tuple(skipped), datetime.now(UTC)
        self.current, self.last_error = release, None
        logger.info("Serving release %s", release.version)

    def _token_stamp(self) -> int | None:
        try:
            return self._token.stat().st_mtime_ns
        except FileNotFoundError:
            return None


class FollowReloads:
    """ASGI: before each request, switch release if another worker of this host was
    told to reload (one ``stat`` of the reload token)."""

    def __init__(self, app: ASGIApp, store: ModelStore) -> None:
        self.app, self.store = app, store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.store.follow_token()
        await self.app(scope, receive, send)
