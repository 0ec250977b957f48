"""Request dependencies: the store, the served model, the API key."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from rfm_segmentation.release import Release

from .model_store import ModelStore

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def get_store(request: Request) -> ModelStore:
    return request.app.state.store


Store = Annotated[ModelStore, Depends(get_store)]


async def get_release(request: Request) -> Release:
    """The release as it is when the request starts: a reload cannot change it
    mid-way."""
    store: ModelStore = request.app.state.store
    release = store.current
    if release is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, store.last_error)
    return release


CurrentRelease = Annotated[Release, Depends(get_release)]


def key_matches(provided: bytes | None, expected: bytes) -> bool:
    """The X-API-Key header equals RFM_API_KEY (compared in constant time)."""
    return provided is not None and secrets.compare_digest(provided, expected)


async def require_api_key(
    request: Request, provided: Annotated[str | None, Depends(api_key_header)]
) -> None:
    """401 unless the X-API-Key header matches (see ``key_matches``)."""
    sent = provided.encode() if provided is not None else None
    if not key_matches(sent, request.app.state.api_key):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Missing or wrong API key: send it in the X-API-Key header.",
            headers={"WWW-Authenticate": "APIKey"},
        )
