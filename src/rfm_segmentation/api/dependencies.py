"""Request dependencies: the store, the served model, the API key, the batch limit."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader

from .model_store import ModelStore, ServedModel
from .settings import ApiSettings

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def get_settings(request: Request) -> ApiSettings:
    return request.app.state.settings


async def get_store(request: Request) -> ModelStore:
    return request.app.state.store


Settings = Annotated[ApiSettings, Depends(get_settings)]
Store = Annotated[ModelStore, Depends(get_store)]


async def get_model(store: Store) -> ServedModel:
    """The model as it is when the request starts: a reload cannot change it mid-way."""
    model = store.current
    if model is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, store.last_error)
    return model


CurrentModel = Annotated[ServedModel, Depends(get_model)]


async def require_api_key(
    settings: Settings, provided: Annotated[str | None, Depends(api_key_header)]
) -> None:
    """The X-API-Key header must equal RFM_API_KEY (compared in constant time)."""
    expected = settings.api_key.get_secret_value() if settings.api_key else ""
    if provided is None or not secrets.compare_digest(
        provided.encode(), expected.encode()
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Missing or wrong API key: send it in the X-API-Key header.",
            headers={"WWW-Authenticate": "APIKey"},
        )


async def batch_within_limit(request: Request, settings: Settings) -> None:
    """Reject a batch longer than RFM_BATCH_MAX before any of its items is validated.

    FastAPI has already parsed the JSON body (within RFM_MAX_BODY_BYTES) and caches
    it on the request; item validation runs after dependencies.
    """
    try:
        body = await request.json()
    except ValueError:
        return  # not JSON: body validation reports it
    customers = body.get("customers") if isinstance(body, dict) else None
    if isinstance(customers, list) and len(customers) > settings.batch_max:
        raise RequestValidationError(
            [
                {
                    "type": "too_long",
                    "loc": ("body", "customers"),
                    "msg": f"List should have at most {settings.batch_max} items "
                    f"(RFM_BATCH_MAX), not {len(customers)}",
                    "input": f"[{len(customers)} items]",
                    "ctx": {"max_length": settings.batch_max},
                }
            ]
        )
