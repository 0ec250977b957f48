"""API configuration from ``RFM_*`` environment variables, validated at startup."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

import rfm_segmentation

# src/rfm_segmentation/__init__.py -> the project root two levels above src/
PACKAGE_PROJECT_PATH = Path(rfm_segmentation.__file__).resolve().parents[2]
BYTES_PER_BATCH_ITEM = 256  # a batch item with a 128-character id, with room
BODY_HEADROOM = 64 * 1024


class ApiSettings(BaseSettings):
    """What the service reads from its environment (README, "Real-time API")."""

    model_config = SettingsConfigDict(
        env_prefix="RFM_", env_ignore_empty=True, frozen=True, extra="ignore"
    )

    project_path: Path = PACKAGE_PROJECT_PATH
    kedro_env: str | None = Field(
        default=None, validation_alias=AliasChoices("RFM_KEDRO_ENV", "KEDRO_ENV")
    )
    model_version: str | None = Field(
        default=None, pattern=r"^\d{4}-\d\d-\d\dT\d\d\.\d\d\.\d\d\.\d{3}Z$"
    )
    api_key: SecretStr | None = None
    batch_max: int = Field(default=10_000, ge=1, le=1_000_000)
    max_body_bytes: int | None = Field(default=None, ge=1024)
    cors_origins: Annotated[list[str], NoDecode] = []
    reload_seconds: float = Field(default=5, ge=0)  # 0: no automatic switching
    runtime_dir: Path | None = None  # where a host's workers meet; default in /tmp
    # the server (``python -m rfm_segmentation.api``; docs/operations.md, "Limits")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    header_timeout_seconds: float = Field(default=10, gt=0)
    body_timeout_seconds: float = Field(default=30, gt=0)
    keep_alive_seconds: float = Field(default=5, gt=0)
    max_connections: int = Field(default=1000, ge=1)  # per worker

    @field_validator("api_key")
    @classmethod
    def _not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError(
                "set but empty: set a key, or unset RFM_API_KEY to serve without one"
            )
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: str | list[str]) -> list[str]:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def body_limit(self) -> int:
        """Largest request body: RFM_MAX_BODY_BYTES, or a full batch with room."""
        return self.max_body_bytes or (
            self.batch_max * BYTES_PER_BATCH_ITEM + BODY_HEADROOM
        )

    @property
    def reload_token(self) -> Path:
        """The file ``POST /api/v1/model/reload`` touches to switch every worker."""
        if self.runtime_dir:
            return self.runtime_dir / "reload"
        project = f"{self.project_path.resolve()}|{self.kedro_env}"
        key = hashlib.sha256(project.encode()).hexdigest()[:12]
        folder = f"rfm-segmentation-{os.getuid()}-{key}"
        return Path(tempfile.gettempdir()) / folder / "reload"

    @classmethod
    def from_env(cls) -> ApiSettings:
        """Settings from the environment; a bad value exits with one line naming it."""
        # an empty variable counts as unset (env_ignore_empty), but an empty key
        # must not silently switch the key off
        given = {"api_key": ""} if os.environ.get("RFM_API_KEY") == "" else {}
        try:
            return cls(**given)
        except ValidationError as error:
            raise SystemExit(
                f"rfm-segmentation API: {describe_errors(error)}"
            ) from None


def describe_errors(error: ValidationError) -> str:
    """``RFM_BATCH_MAX='abc': Input should be a valid integer`` for each bad value."""
    problems = []
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else "?"
        variable = name if name.isupper() else f"RFM_{name.upper()}"
        message = problem["msg"].removeprefix("Value error, ")
        problems.append(f"{variable}={problem['input']!r}: {message}")
    return "; ".join(problems)
