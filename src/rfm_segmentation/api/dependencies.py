"""Request dependencies: the served model and the optional API key."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from .model_store import ModelStore, ServedModel

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def get_store(request: Request) -> ModelStore:
    return request.app.state.store


Store = Annotated[ModelStore, Depends(get_store)]


async def get_model(request: Request) -> ServedModel:
    """The model as it is when the request starts: a reload cannot change it mid-way."""
    store: ModelStore = request.app.state.store
    model = store.current
    if model is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=store.last_error
        )
    return model


def require_api_key(expected: str) -> Callable[[str | None], None]:
    """A dependency that checks the X-API-Key header in constant time."""

    async def check(provided: Annotated[str | None, Depends(api_key_header)]) -> None:
        if provided is None or not secrets.compare_digest(
            provided.encode(), expected.encode()
        ):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="Missing or wrong API key: send it in the X-API-Key header.",
                headers={"WWW-Authenticate": "APIKey"},
            )

    return check


CurrentModel = Annotated[ServedModel, Depends(get_model)]
