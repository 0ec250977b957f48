"""Request bodies read straight from bytes by pydantic-core (``from_json``, then a
``TypeAdapter`` over the TypedDicts in ``schemas``): no detour through the standard
``json`` module and no pydantic object per customer of a batch. Problems are raised
as FastAPI's ``RequestValidationError``, located under ``body`` as FastAPI does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json

from .schemas import BatchRequest, CustomerRFM

T = TypeVar("T")
REF = "#/components/schemas/{model}"
CUSTOMER = TypeAdapter(CustomerRFM)
BATCH = TypeAdapter(BatchRequest)


def read_json(body: bytes) -> Any:
    """The parsed body; NaN and Infinity parse, for the fields to refuse by name."""
    try:
        return from_json(body, allow_inf_nan=True)
    except ValueError as error:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body",),
                    "msg": f"JSON decode error: {error}",
                    "input": {},
                    "ctx": {"error": str(error)},
                }
            ]
        ) from None


def validated(adapter: TypeAdapter[T], value: Any) -> T:
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        raise RequestValidationError(
            [
                {**problem, "loc": ("body", *problem["loc"])}
                for problem in error.errors(include_url=False)
            ]
        ) from None


def read_customer(body: bytes) -> CustomerRFM:
    customer = validated(CUSTOMER, read_json(body))
    _tenure_at_least_recency([customer], lambda _: ("body", "tenure"))
    return customer


def _tenure_at_least_recency(
    customers: list[CustomerRFM], where: Callable[[int], tuple]
) -> None:
    """A first purchase cannot be later than the last: tenure >= recency."""
    problems = [
        {
            "type": "greater_than_equal",
            "loc": where(i),
            "msg": f"Input should be at least recency ({c['recency']:g}): the first "
            "purchase cannot be after the last",
            "input": c["tenure"],
            "ctx": {"ge": c["recency"]},
        }
        for i, c in enumerate(customers)
        if c.get("tenure", np.inf) < c["recency"]
    ]
    if problems:
        raise RequestValidationError(problems)


def read_batch(body: bytes, batch_max: int) -> BatchRequest:
    """The batch, its length checked against ``batch_max`` before any item is."""
    raw = read_json(body)
    customers = raw.get("customers") if isinstance(raw, dict) else None
    if isinstance(customers, list) and len(customers) > batch_max:
        raise RequestValidationError(
            [
                {
                    "type": "too_long",
                    "loc": ("body", "customers"),
                    "msg": f"List should have at most {batch_max} items "
                    f"(RFM_BATCH_MAX), not {len(customers)}",
                    "input": f"[{len(customers)} items]",
                    "ctx": {"max_length": batch_max},
                }
            ]
        )
    batch = validated(BATCH, raw)
    _tenure_at_least_recency(
        batch["customers"], lambda i: ("body", "customers", i, "tenure")
    )
    return batch


def json_body(adapter: TypeAdapter) -> dict[str, Any]:
    """``openapi_extra`` documenting a route's JSON body as the adapter's type."""
    name = adapter.core_schema["cls"].__name__
    schema = {"$ref": REF.format(model=name)}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


def body_schemas() -> dict[str, Any]:
    """The bodies' JSON schemas, for the OpenAPI document's components."""
    schemas: dict[str, Any] = {}
    for adapter in (CUSTOMER, BATCH):
        schema = adapter.json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[schema["title"]] = schema
    return schemas
