"""A real uvicorn process on 127.0.0.1: the reference request, and schemathesis
generating requests from the app's own OpenAPI schema."""

from __future__ import annotations

import json

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from rfm_segmentation.segments import SEGMENT_NAMES

from .conftest import start_api

pytestmark = pytest.mark.slow


def test_reference_request_over_http(live_server):
    response = httpx.post(
        f"{live_server}/api/v1/segment",
        json={"recency": 15, "frequency": 2, "monetary": 350.75},
    )
    assert response.status_code == 200
    assert response.json()["segment_name"] in SEGMENT_NAMES


def test_one_json_access_line_per_request_all_written_by_shutdown(
    trained_project, tmp_path
):
    log = tmp_path / "stdout.log"
    with log.open("w") as stdout:
        server, url = start_api(trained_project, stdout=stdout)
        try:
            for number in range(20):
                httpx.post(
                    f"{url}/api/v1/segment",
                    json={"recency": number, "frequency": 2, "monetary": 350.75},
                    headers={"X-Request-ID": f"good-{number}"},
                )
            httpx.post(
                f"{url}/api/v1/segment",
                json={"recency": -1},
                headers={"X-Request-ID": "bad-1"},
            )
        finally:
            server.terminate()
            server.wait(timeout=10)
    access = [
        json.loads(line)
        for line in log.read_text().splitlines()
        if "good-" in line or "bad-1" in line
    ]  # a line in another format (Kedro's rich logging) would not parse
    assert [line["request_id"] for line in access] == [
        *(f"good-{number}" for number in range(20)),
        "bad-1",
    ]
    assert {line["status"] for line in access[:20]} == {200}
    assert access[-1]["status"] == 422
    assert all(line["path"] == "/api/v1/segment" for line in access)
    assert all(line["latency_ms"] >= 0 for line in access)


API_KEY = "schemathesis-key"
# Operations with a rule between fields that OpenAPI cannot state (a tenure, days
# since the first purchase, is never shorter than the recency): schemathesis
# generates such bodies as valid, the API answers 422 with the rule, as it should.
# Only the check that valid-looking data is accepted is skipped for them.
CROSS_FIELD_RULES = {"POST /api/v1/segment", "POST /api/v1/segment/batch"}


def exercise(operation, url: str, keyed: bool, findings: dict[str, list]) -> None:
    """40 generated cases against one operation, findings sorted into kinds."""
    documented = set(operation.definition.raw["responses"])

    @given(case=operation.as_strategy(), send_key=st.booleans())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case, send_key):
        headers = {"X-API-Key": API_KEY} if keyed and send_key else {}
        response = case.call(base_url=url, headers=headers)
        where = f"{case.method} {case.path} -> {response.status_code}"
        findings["calls"].append(where)
        if response.status_code >= 500:
            findings["server_errors"].append(where)
        if str(response.status_code) not in documented:
            findings["undocumented"].append(where)
        try:
            case.validate_response(
                response,
                headers=headers,
                excluded_checks=[positive_data_acceptance]
                if f"{case.method} {case.path}" in CROSS_FIELD_RULES
                else None,
            )
        except Exception as failure:  # schemathesis groups its check failures
            findings["nonconforming"].append(f"{where}: {failure}"[:300])

    check()


@pytest.mark.parametrize("keyed", [False, True], ids=["open", "with RFM_API_KEY"])
def test_api_conforms_to_its_schema(live_servers, keyed):
    """Generated requests to every operation: no server error, no status code the
    schema does not document, every response as documented. With a key set, cases
    send it or not at random (401)."""
    url = live_servers(RFM_API_KEY=API_KEY) if keyed else live_servers()
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 13
    findings = {
        kind: [] for kind in ("calls", "server_errors", "undocumented", "nonconforming")
    }
    for operation in operations:
        exercise(operation, url, keyed, findings)

    exercised = {call.rsplit(" -> ", 1)[0] for call in findings["calls"]}
    assert len(exercised) >= len(operations)
    assert (len(findings["server_errors"]), findings["server_errors"][:3]) == (0, [])
    assert (len(findings["undocumented"]), findings["undocumented"][:3]) == (0, [])
    assert (len(findings["nonconforming"]), findings["nonconforming"][:3]) == (0, [])
    if keyed:
        assert any(call.endswith("-> 401") for call in findings["calls"])
