"""A real uvicorn process on 127.0.0.1: the reference request, and schemathesis
generating requests from the app's own OpenAPI schema."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

from rfm_segmentation.segments import SEGMENT_NAMES


def test_reference_request_over_http(live_server):
    response = httpx.post(
        f"{live_server}/api/v1/segment",
        json={"recency": 15, "frequency": 2, "monetary": 350.75},
    )
    assert response.status_code == 200
    assert response.json()["segment_name"] in SEGMENT_NAMES


def test_api_conforms_to_its_schema(live_server):
    """Generated requests to every operation: no 5xx, and every response matches the
    documented schema and status codes. Bounded: 40 cases per operation."""
    schema = schemathesis.openapi.from_url(f"{live_server}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40, deadline=None, suppress_health_check=list(HealthCheck)
        )
        def check(case):
            case.call_and_validate(base_url=live_server)

        check()
