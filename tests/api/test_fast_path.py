"""The fast path of POST /api/v1/segment answers exactly as the FastAPI route does:
the same bytes for a good request, and the route's own answer for anything else."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rfm_segmentation.api import routes
from rfm_segmentation.api.app import create_app
from rfm_segmentation.api.fast_path import FastSegmentPath
from rfm_segmentation.api.settings import ApiSettings

REFERENCE = {"recency": 15, "frequency": 2, "monetary": 350.75}
BODIES = [
    b'{"recency": 15, "frequency": 2, "monetary": 350.75}',
    b'{"monetary": 1e12, "recency": 0, "frequency": 1}',  # outside the training range
    b'{"recency": 400.5, "frequency": 30.0, "monetary": 0}',
    b'{"recency": -1, "frequency": 2, "monetary": 1}',
    b'{"recency": "15", "frequency": 2, "monetary": 1}',
    b'{"recency": 15, "frequency": true, "monetary": 1}',
    b'{"recency": 15, "frequency": 2, "monetary": 1, "segment": "VIP"}',
    b'{"recency": NaN, "frequency": 2, "monetary": 1}',
    b'{"recency": 15, "frequency": 2}',
    b"[1, 2, 3]",
    b'{"recency": 15,',
    b"",
]


@pytest.fixture
def clients(trained_project):
    """Two apps on the same release: as served, and with RFM_FAST_PATH=false."""

    def app(*, fast: bool, **settings) -> TestClient:
        api = create_app(
            ApiSettings(project_path=trained_project, fast_path=fast, **settings)
        )
        assert any(m.cls is FastSegmentPath for m in api.user_middleware) is fast
        return TestClient(api)

    def both(**settings) -> tuple[TestClient, TestClient]:
        return app(fast=True, **settings), app(fast=False, **settings)

    return both


@pytest.fixture
def route_calls(monkeypatch) -> list[dict]:
    """Every answer the FastAPI route computes."""
    calls: list[dict] = []
    answer = routes.segment_answer

    def recorded(customer, model):
        calls.append(customer)
        return answer(customer, model)

    monkeypatch.setattr(routes, "segment_answer", recorded)
    return calls


def post(client: TestClient, body: bytes, **headers: str):
    return client.post(
        "/api/v1/segment",
        content=body,
        headers={"content-type": "application/json", **headers},
    )


def test_every_body_gets_the_same_answer_with_and_without_the_fast_path(
    clients, route_calls
):
    fast, routed = clients()
    answered = 0
    with fast, routed:
        for body in BODIES:
            quick, slow = post(fast, body), post(routed, body)
            assert (quick.status_code, quick.content) == (
                slow.status_code,
                slow.content,
            ), body
            assert quick.headers["content-type"] == slow.headers["content-type"]
            answered += quick.status_code == 200
    assert answered == 3
    assert len(route_calls) == answered  # the route answered only the app without


def test_a_wrong_key_or_no_model_goes_to_the_route(
    clients, client_for, project_factory
):
    fast, _ = clients(api_key="s3cret")
    with fast:
        assert post(fast, BODIES[0]).status_code == 401
        assert post(fast, BODIES[0], **{"X-API-Key": "guess"}).status_code == 401
        assert post(fast, BODIES[0], **{"X-API-Key": "s3cret"}).status_code == 200
    untrained = client_for(project_factory())
    assert post(untrained, BODIES[0]).status_code == 503
