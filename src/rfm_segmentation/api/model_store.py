"""The served model: loaded through the Kedro catalog, swapped atomically on reload."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from kedro.framework.session import KedroSession
from kedro.io import DatasetError
from sklearn.pipeline import Pipeline

from .segmenter import Segmenter
from .settings import ApiSettings

logger = logging.getLogger(__name__)

NO_MODEL_HINT = (
    "No trained model yet: run `make all` (or `kedro run`) first, then reload."
)
KEDRO_VERSION_FORMAT = "%Y-%m-%dT%H.%M.%S.%fZ"


class ModelNotAvailable(RuntimeError):
    """No usable model could be loaded; the message says what to do."""


@dataclass(frozen=True)
class ServedModel:
    """Everything one training run produced that a request may need."""

    version: str
    pipeline: Pipeline
    profile: dict[str, Any]
    segmenter: Segmenter
    customers: pd.DataFrame  # customer_segments indexed by customer id (text)
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def trained_at(self) -> datetime | None:
        """Kedro versions are UTC save timestamps."""
        try:
            return datetime.strptime(self.version, KEDRO_VERSION_FORMAT).replace(
                tzinfo=UTC
            )
        except ValueError:
            return None


def load_served_model(settings: ApiSettings) -> ServedModel:
    """Load model, profile (same version) and customer segments through the catalog.

    The project must have been bootstrapped (``bootstrap_project``) in this process.
    """
    with KedroSession.create(
        project_path=settings.project_path, env=settings.kedro_env
    ) as session:
        catalog = session.load_context().catalog
    try:
        version = (
            settings.model_version
            or catalog.get("segmentation_model").resolve_load_version()
        )
    except DatasetError as error:
        raise ModelNotAvailable(NO_MODEL_HINT) from error
    try:
        pipeline = catalog.load("segmentation_model", version=version)
        profile = catalog.load("segment_profiles", version=version)
        segmenter = Segmenter.from_model(pipeline, profile)
    except Exception as error:  # unpickling and schema errors of any kind
        raise ModelNotAvailable(
            f"Model version {version} could not be loaded: {error}"
        ) from error
    customers = (
        catalog.load("customer_segments")
        if catalog.exists("customer_segments")
        else None
    )
    if customers is None:
        customers = pd.DataFrame(columns=["customer_id"])
    customers = customers.set_index(customers.columns[0])
    return ServedModel(version, pipeline, profile, segmenter, customers)


class ModelStore:
    """Holds the current model. Requests take a reference when they start, so a
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
            logger.info("Serving model version %s", model.version)
            return model
