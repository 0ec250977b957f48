"""Endpoints. Health routes are open; /api/v1 routes and /report may need the API
key.

Every handler answers with ``json_response`` and every error is an HTTPException.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from rfm_segmentation.history import ENTERED
from rfm_segmentation.release import Release
from rfm_segmentation.segments import segment_slug

from .bodies import BATCH, CUSTOMER, json_body, read_batch, read_customer
from .dependencies import CurrentRelease, Store
from .model_store import ModelNotAvailable, ModelStore
from .schemas import (
    BatchResponse,
    CustomerHistory,
    CustomerSegment,
    ErrorResponse,
    MigrationsResponse,
    ModelInfo,
    MoversResponse,
    SegmentCustomers,
    SegmentResponse,
    SegmentsResponse,
    Status,
    ValidationErrorResponse,
)
from .segment_answers import assignments, segment_answer
from .segment_lists import csv_chunks, page, segment_code, segment_positions


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


NOT_READY = {503: _error("No model loaded yet; the detail says what to run")}
BODY_ERRORS = {
    400: _error("The body could not be read (not UTF-8, or cut off)"),
    413: _error("The body is larger than RFM_MAX_BODY_BYTES"),
    422: {
        "model": ValidationErrorResponse,
        "description": "The body is not valid JSON of the documented shape; each "
        "problem names its location, type and rule, quoting a short excerpt",
    },
}

API_PREFIX = "/api/v1"  # where the app mounts api_router
SEGMENT_PATH = "/segment"
health_router = APIRouter(tags=["health"])
api_router = APIRouter(tags=["segments"], responses=NOT_READY)
report_router = APIRouter(tags=["report"], responses=NOT_READY)


@health_router.get("/health", response_model=Status)
async def health() -> Response:
    """The process is alive."""
    return json_response({"status": "ok", "model_version": None})


@health_router.get("/ready", response_model=Status, responses=NOT_READY)
async def ready(store: Store) -> Response:
    """A release is loaded and requests can be answered."""
    if store.current is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, store.last_error)
    return json_response({"status": "ready", "model_version": store.current.version})


# The customer lookups first: FastAPI tries the routes in order, a few microseconds
# each, and these are made once per customer a CRM shows or emails.
@api_router.get(
    "/customers/{customer_id}",
    response_model=CustomerSegment,
    responses={404: _error("Unknown customer")},
)
async def customer(customer_id: str, release: CurrentRelease) -> Response:
    """A customer's row of the customer table published with the served model."""
    return json_response(release.customer(_position(customer_id, release)))


@api_router.get(
    "/customers/{customer_id}/history",
    response_model=CustomerHistory,
    responses={404: _error("Unknown customer")},
)
async def customer_history(customer_id: str, release: CurrentRelease) -> Response:
    """The customer's segment at each snapshot up to the as-of date, by the served
    release's model; the last entry is their row of the customer table."""
    position = _position(customer_id, release)
    return json_response(
        {
            "customer_id": customer_id,
            "model_version": release.version,
            "as_of": release.profile.as_of,
            "snapshots": release.customer_history(position),
        }
    )


@api_router.post(
    SEGMENT_PATH,
    response_model=SegmentResponse,
    responses=BODY_ERRORS,
    openapi_extra=json_body(CUSTOMER),
)
async def segment(request: Request, release: CurrentRelease) -> Response:
    """The segment of one customer's recency, frequency and monetary value (and
    tenure: without it, the answer lists the rules it could not check)."""
    return json_response(segment_answer(read_customer(await request.body()), release))


@api_router.post(
    f"{SEGMENT_PATH}/batch",
    response_model=BatchResponse,
    responses=BODY_ERRORS,
    openapi_extra=json_body(BATCH),
)
async def segment_batch(request: Request, release: CurrentRelease) -> Response:
    """Segments of up to RFM_BATCH_MAX customers (10,000 by default), answered in
    request order. A longer batch is refused before any item is validated."""
    batch_max = request.app.state.settings.batch_max
    customers = read_batch(await request.body(), batch_max)["customers"]
    return json_response(
        {
            "model_version": release.version,
            "as_of": release.profile.as_of,
            "results": [
                {"customer_id": c.get("customer_id"), **answer}
                for c, answer in zip(
                    customers, assignments(customers, release), strict=True
                )
            ],
        }
    )


@api_router.get("/segments", response_model=SegmentsResponse)
async def segments(release: CurrentRelease) -> Response:
    """Every segment: description, strategy, customers, revenue, means and tenure
    at the as-of date."""
    profile = release.profile
    return json_response(
        {
            "model_version": release.version,
            "as_of": profile.as_of,
            "currency": profile.currency,
            "segments": profile.model_dump(mode="json")["segments"],
        }
    )


PAGE_MAX = 10_000
CSV_ANSWER = {"content": {"text/csv": {}}, "description": "JSON, or with format=csv"}


@api_router.get(
    "/segments/{name}/customers",
    response_model=SegmentCustomers,
    responses={200: CSV_ANSWER, 404: _error("Unknown segment")},
)
async def segment_customers(
    name: str,
    release: CurrentRelease,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX, description="Rows a page")] = 1000,
    cursor: Annotated[
        str | None,
        Query(max_length=128, description="The previous page's `next_cursor`"),
    ] = None,
    output: Annotated[
        Literal["json", "csv"],
        Query(alias="format", description="csv: the whole list, streamed"),
    ] = "json",
) -> Response:
    """A segment's customers at the as-of date (by name, e.g. `At-Risk`, or file
    name, `at_risk`): their rows of the customer table, with the shop's carried
    columns, in customer id order, a page at a time; `format=csv` streams them all."""
    code = segment_code(release, name)
    segment_name = release.profile.segment_names[code]
    positions = segment_positions(release, code)
    if output == "csv":
        filename = f"{segment_slug(segment_name)}.csv"
        return StreamingResponse(
            csv_chunks(release, positions),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    rows, next_cursor = page(release, positions, cursor, limit)
    return json_response(
        {
            "model_version": release.version,
            "as_of": release.profile.as_of,
            "segment_name": segment_name,
            "customers": len(positions),
            "next_cursor": next_cursor,
            "items": rows,
        }
    )


def _position(customer_id: str, release: Release) -> int:
    position = release.position(customer_id)
    if position is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"Customer {customer_id[:128]!r} is not in the customer table of "
            f"release {release.version} ({release.customers.num_rows:,} customers, "
            f"as of {release.profile.as_of}).",
        )
    return position


FromSnapshot = Annotated[
    date | None,
    Query(alias="from", description="A snapshot (default: the one before `to`)"),
]
ToSnapshot = Annotated[
    date | None, Query(alias="to", description="A later snapshot (default: the last)")
]


@api_router.get(
    "/migrations",
    response_model=MigrationsResponse,
    responses={404: _error("Not a snapshot date")},
)
async def migrations(
    release: CurrentRelease,
    start: FromSnapshot = None,
    end: ToSnapshot = None,
) -> Response:
    """Customers moving between segments from one snapshot to another: counts and
    shares from each segment (or `entered`) to each segment."""
    begin, to = snapshot_pair(release, start, end)
    return json_response(
        {
            "model_version": release.version,
            "from": begin,
            "to": to,
            "snapshots": list(release.history.snapshots),
            "transitions": release.migrations_by_pair.get((begin, to), []),
        }
    )


@api_router.get(
    "/migrations/customers",
    response_model=MoversResponse,
    responses={404: _error("Unknown segment, or not a snapshot date")},
)
async def migration_customers(
    release: CurrentRelease,
    from_segment: Annotated[
        str, Query(description=f"A segment, or `{ENTERED}` (new since `from`)")
    ],
    to_segment: Annotated[str, Query(description="A segment")],
    start: FromSnapshot = None,
    end: ToSnapshot = None,
) -> Response:
    """The ids of the customers in `from_segment` at `from` and in `to_segment` at
    `to`, in id order."""
    begin, to = snapshot_pair(release, start, end)
    source = segment_code(release, from_segment, entered=True)
    target = segment_code(release, to_segment)
    history = release.history
    positions = history.movers(
        history.snapshot(begin), history.snapshot(to), source, target
    )
    names = release.profile.segment_names
    return json_response(
        {
            "model_version": release.version,
            "from": begin,
            "to": to,
            "from_segment": ENTERED if source is None else names[source],
            "to_segment": names[target],
            "customers": len(positions),
            "customer_ids": release.rows_at(positions)["customer_id"].to_pylist(),
        }
    )


def snapshot_pair(
    release: Release, start: date | None, end: date | None
) -> tuple[str, str]:
    """``from`` and ``to`` as snapshots of the release (defaults: the last two):
    404 for a date that is not a snapshot, 422 unless ``from`` is before ``to``."""
    snapshots = list(release.history.snapshots)
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.isoformat() not in snapshots:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                detail=f"{value} (`{name}`) is not a snapshot of release "
                f"{release.version}; snapshots: {', '.join(snapshots)}.",
            )
    to = end.isoformat() if end else snapshots[-1]
    earlier = [s for s in snapshots if s < to]
    begin = start.isoformat() if start else (earlier[-1] if earlier else None)
    if begin is None or begin >= to:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "from"),
                    "msg": f"`from` must be a snapshot before `to` ({to})",
                    "input": begin,
                }
            ]
        )
    return begin, to


@api_router.get("/model", response_model=ModelInfo)
async def model_info(release: CurrentRelease, store: Store) -> Response:
    """Release version and time, the as-of date, the run's input, k, silhouette,
    training ranges, how well the names fit (centre rules, unfilled names, single
    customers), outliers, stability, and the newer releases skipped at load time."""
    return json_response(describe(release, store))


@api_router.post(
    "/model/reload",
    response_model=ModelInfo,
    responses={503: _error("Reload failed; the current model keeps serving")},
)
async def reload(store: Store) -> Response:
    """Load the newest valid release (or the pinned one) without a restart, in
    every worker of this host: each switches before its next answer.

    Requests already running finish with the release they started with; if loading
    fails, the current release keeps serving and the error is returned.
    """
    serving = store.current.version if store.current else None
    try:
        return json_response(describe(await store.reload_everywhere(), store))
    except ModelNotAvailable as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"Reload failed: {error} Still serving: {serving}.",
        ) from error


@report_router.get(
    "/report",
    response_class=Response,  # the page is HTML, its errors JSON as everywhere
    responses={
        200: {
            "description": "The report page (self-contained HTML)",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        404: _error("The served release has no report page"),
    },
)
async def report(release: CurrentRelease) -> Response:
    """The report page published with the served release: segment sizes and
    revenue, what each segment means and what to do, the biggest moves and how well
    the names fit. One self-contained page: it loads nothing from anywhere."""
    if release.report is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"Release {release.version} has no report page: run `kedro run` "
            "to publish a release with one.",
        )
    return HTMLResponse(release.report)


def json_response(payload: dict) -> Response:
    """JSON built by the handler itself, skipping FastAPI's re-validation of the
    response; ``response_model`` still documents it, and the schemathesis test
    checks every response against that documentation."""
    return Response(json_bytes(payload), media_type="application/json")


def json_bytes(payload: dict) -> bytes:
    """The bytes of every JSON answer."""
    return orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)


def describe(release: Release, store: ModelStore) -> dict[str, Any]:
    profile = release.profile
    return {
        "version": release.version,
        "trained_at": release.created_at,
        "loaded_at": store.loaded_at,
        "input": release.input.model_dump(mode="json") if release.input else None,
        "rows": release.rows,
        **profile.model_dump(
            mode="json",
            include={
                "as_of",
                "currency",
                "n_clusters",
                "silhouette",
                "n_customers",
                "n_fitted",
                "naming",
                "customer_fit",
                "clusters",
                "outliers",
                "stability",
            },
        ),
        "feature_ranges": profile.naming.feature_ranges.model_dump(),
        "skipped_releases": [
            {"version": s.version, "reason": s.reason} for s in store.skipped
        ],
    }
