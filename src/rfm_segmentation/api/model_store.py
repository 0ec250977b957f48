"""The served release: loaded through the Kedro catalog, swapped atomically on reload."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

import numpy as np
import pandas as pd
from kedro.io import DataCatalog

from rfm_segmentation.catalog import load_catalog
from rfm_segmentation.history import HistoryFolder, snapshots_of
from rfm_segmentation.model import FEATURES, Segmenter
from rfm_segmentation.release import (
    InvalidRelease,
    NoValidRelease,
    Release,
    ReleaseFolder,
    SkippedRelease,
)
from rfm_segmentation.segments import base_segment

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
    history: pd.DataFrame | None = None  # indexed by customer_id, then snapshot
    history_note: str | None = None  # why there is no history, when there is none
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def of(
        cls,
        release: Release,
        skipped: list[SkippedRelease],
        histories: HistoryFolder | None = None,
    ) -> ServedModel:
        ranges = release.profile.feature_ranges
        limits = np.array(
            [[getattr(ranges, f).min, getattr(ranges, f).max] for f in FEATURES]
        )
        segmenter = Segmenter.from_model(release.model, limits[:, 0], limits[:, 1])
        history, note = _history_of(release.version, histories)
        return cls(release, segmenter, tuple(skipped), history, note)

    @cached_property
    def strategies(self) -> tuple[str, ...]:
        """Each cluster label's segment strategy, looked up once."""
        return tuple(base_segment(name).strategy for name in self.release.profile.names)

    @property
    def snapshots(self) -> list[str]:
        return [] if self.history is None else snapshots_of(self.history)

    @property
    def version(self) -> str:
        return self.release.version


def _history_of(
    version: str, histories: HistoryFolder | None
) -> tuple[pd.DataFrame | None, str | None]:
    missing = (
        f"No segment history was published with release {version}: run `kedro run` "
        "(its segment_history pipeline)."
    )
    if histories is None:
        return None, missing
    try:
        history = histories.read(version)
    except InvalidRelease as error:
        logger.warning("Segment history of release %s skipped: %s", version, error)
        return None, f"The segment history of release {version} is damaged: {error}"
    if history is None:
        return None, missing
    return history.set_index("customer_id").sort_index(), None


def _load(catalog: DataCatalog, name: str):
    return catalog.load(name) if name in catalog else None


def load_served_model(settings: ApiSettings) -> ServedModel:
    """The pinned release, or the newest one that verifies, and the segment history
    published with it, through the catalog."""
    try:
        catalog = load_catalog(settings.project_path, settings.kedro_env)
        releases: ReleaseFolder = catalog.load("model_release")
        histories: HistoryFolder | None = _load(catalog, "release_history")
    except Exception as error:  # configuration problems of any kind
        logger.exception("Reading the catalog failed")
        raise ModelNotAvailable(
            "The project's catalog entries `model_release` and `release_history` "
            "could not be read; the server log says why."
        ) from error
    pinned = settings.model_version
    if pinned:
        try:
            return ServedModel.of(releases.load(pinned), [], histories)
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
    return ServedModel.of(release, skipped, histories)


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
