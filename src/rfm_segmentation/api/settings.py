"""API configuration, read once from environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import rfm_segmentation

# src/rfm_segmentation/__init__.py -> the project root two levels above src/
PACKAGE_PROJECT_PATH = Path(rfm_segmentation.__file__).resolve().parents[2]


@dataclass(frozen=True)
class ApiSettings:
    """What the service reads from its environment.

    RFM_PROJECT_PATH  Kedro project root (default: found from the package)
    KEDRO_ENV         Kedro environment whose catalog is used (default: Kedro's own)
    RFM_MODEL_VERSION pin a model version, e.g. 2026-11-24T09.03.44.123Z (default: newest)
    RFM_API_KEY       when set, /api/v1/* requires header X-API-Key
    RFM_BATCH_MAX     most customers in one batch request (default 10000)
    """

    project_path: Path = PACKAGE_PROJECT_PATH
    kedro_env: str | None = None
    model_version: str | None = None
    api_key: str | None = None
    batch_max: int = 10_000

    @classmethod
    def from_env(cls) -> ApiSettings:
        env = os.environ
        return cls(
            project_path=Path(env.get("RFM_PROJECT_PATH") or PACKAGE_PROJECT_PATH),
            kedro_env=env.get("KEDRO_ENV") or None,
            model_version=env.get("RFM_MODEL_VERSION") or None,
            api_key=env.get("RFM_API_KEY") or None,
            batch_max=int(env.get("RFM_BATCH_MAX") or 10_000),
        )
