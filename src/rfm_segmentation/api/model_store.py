"""The served release: loaded through the Kedro catalog, swapped atomically on reload."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from rfm_segmentation.catalog import load_catalog
from rfm_segmentation.model import FEATURES, Segmenter
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


@dataclass(frozen=True)
class ServedModel:
    """One verified release and what serving it needs."""

    release: Release
    segmenter: Segmenter
    skipped: tuple[SkippedRelease, ...] = ()
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def of(cls, release: Release, skipped: list[SkippedRelease]) -> ServedModel:
        ranges = release.profile.feature_ranges
        limits = np.array(
            [[getattr(ranges, f).min, getattr(ranges, f).max] for f in FEATURES]
        )
        segmenter = Segmenter.from_model(release.model, limits[:, 0], limits[:, 1])
        return cls(release, segmenter, tuple(skipped))

    @property
    def version(self) -> str:
        return self.release.version


def load_served_model(settings: ApiSettings) -> ServedModel:
    """The pinned release, or the newest one that verifies, through the catalog."""
    try:
        releases: ReleaseFolder = load_catalog(
            settings.project_path, settings.kedro_env
        ).load("model_release")
    except Exception as error:  # configuration problems of any kind
        logger.exception("Reading the catalog entry model_release failed")
        raise ModelNotAvailable(
            "The project's catalog entry `model_release` could not be read; "
            "the server log says why."
        ) from error
    pinned = settings.model_version
    if pinned:
        try:
            return ServedModel.of(releases.load(pinned), [])
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
    return ServedModel.of(release, skipped)


class ModelStore:
    """Holds the current release. Requests take a reference when they start, so a
    reload never changes the model under a request; a failed reload keeps the old."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.current: ServedModel | None = None
        self.last_error: str | None = NO_MODEL_HINT
        self._lock = asyncio.Lock()

    async def reload(self) -> ServedModel:
        async with self._lock:
            try:
                model = await asyncio.to_thread(load_served_model, self.settings)
            except ModelNotAvailable as error:
                if self.current is None:
                    self.last_error = str(error)
                logger.warning("Model load failed: %s", error)
                raise
            self.current, self.last_error = model, None
            logger.info("Serving release %s", model.version)
            return model
