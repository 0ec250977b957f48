"""Every endpoint through FastAPI's test client, on a model the pipeline trained."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from rfm_segmentation.api.model_store import NO_MODEL_HINT
from rfm_segmentation.segments import SEGMENT_NAMES, base_segment

from ..support import RELEASES, newest_release, read_segments, run_kedro, source_id

SOURCE_ID = source_id()


REFERENCE = {"recency": 15, "frequency": 2, "monetary": 350.75}


def expected_segment(project, rfm) -> tuple[int, str]:
    release = newest_release(project)
    label = int(release.model.predict(np.array([rfm]))[0])
    return label, release.profile.names[label]


def test_health_and_ready(client):
    assert client.get("/health").json() == {"status": "ok", "model_version": None}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready"
    assert ready["model_version"]


def test_segment_answers_as_the_pipeline_model_does(client, trained_project):
    response = client.post("/api/v1/segment", json=REFERENCE)
    assert response.status_code == 200
    body = response.json()
    label, name = expected_segment(trained_project, list(REFERENCE.values()))
    assert (body["cluster_label"], body["segment_name"]) == (label, name)
    assert body["segment_name"] in SEGMENT_NAMES
    assert body["strategy"] == base_segment(name).strategy
    assert body["outside_training_range"] is False
    assert response.headers["x-request-id"]


def test_inputs_outside_the_training_range_are_answered_and_flagged(client):
    body = client.post("/api/v1/segment", json={**REFERENCE, "monetary": 1e12}).json()
    assert body["outside_training_range"] is True
    assert body["segment_name"] in SEGMENT_NAMES


@pytest.mark.parametrize(
    ("payload", "field", "rule"),
    [
        ({**REFERENCE, "recency": -1}, "recency", "greater_than_equal"),
        ({**REFERENCE, "frequency": 0.5}, "frequency", "greater_than_equal"),
        ({**REFERENCE, "monetary": -0.01}, "monetary", "greater_than_equal"),
        ({**REFERENCE, "recency": "15"}, "recency", "float_type"),
        ({**REFERENCE, "frequency": True}, "frequency", "float_type"),
        ({"recency": 15, "frequency": 2}, "monetary", "missing"),
        ({**REFERENCE, "segment": "VIP"}, "segment", "extra_forbidden"),
    ],
)
def test_bad_input_is_a_422_naming_field_and_rule(client, payload, field, rule):
    response = client.post("/api/v1/segment", json=payload)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert (error["loc"][-1], error["type"]) == (field, rule)


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_numbers_are_a_422_not_a_500(client, token):
    body = b'{"recency": %s, "frequency": 2, "monetary": 1}' % token
    response = client.post(
        "/api/v1/segment", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "finite_number"


def test_batch_answers_in_order_with_ids(client, trained_project):
    customers = [
        {"customer_id": "x1", **REFERENCE},
        {"recency": 300, "frequency": 1, "monetary": 20},
        {"customer_id": "x3", "recency": 2, "frequency": 40, "monetary": 30000},
    ]
    response = client.post("/api/v1/segment/batch", json={"customers": customers})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["customer_id"] for r in results] == ["x1", None, "x3"]
    for customer, result in zip(customers, results, strict=True):
        rfm = [customer["recency"], customer["frequency"], customer["monetary"]]
        assert (result["cluster_label"], result["segment_name"]) == expected_segment(
            trained_project, rfm
        )


def test_batch_limits_are_validated(client_for, trained_project):
    client = client_for(trained_project, batch_max=3)
    too_many = {"customers": [REFERENCE] * 4}
    response = client.post("/api/v1/segment/batch", json=too_many)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "too_long"
    assert (
        client.post("/api/v1/segment/batch", json={"customers": []}).status_code == 422
    )
    bad_item = {"customers": [REFERENCE, {**REFERENCE, "recency": -5}]}
    assert client.post("/api/v1/segment/batch", json=bad_item).json()["detail"][0][
        "loc"
    ] == [
        "body",
        "customers",
        1,
        "recency",
    ]
    schema = client.get("/openapi.json").json()["components"]["schemas"]["BatchRequest"]
    assert schema["properties"]["customers"]["maxItems"] == 3
    assert schema["properties"]["customers"]["minItems"] == 1


def test_segments_describe_every_segment(client):
    body = client.get("/api/v1/segments").json()
    segments = body["segments"]
    assert {s["segment_name"] for s in segments} == set(SEGMENT_NAMES)
    assert sum(s["share"] for s in segments) == pytest.approx(1, abs=1e-3)
    for segment in segments:
        assert segment["strategy"] == base_segment(segment["segment_name"]).strategy
        assert set(segment["centroid"]) == {"recency", "frequency", "monetary"}


def test_customer_lookup_returns_the_latest_row_or_a_clear_404(client, trained_project):
    row = read_segments(trained_project).iloc[5]
    body = client.get(f"/api/v1/customers/{row[SOURCE_ID]}").json()
    assert body["customer_id"] == row[SOURCE_ID]
    assert body["segment_name"] == row["segment_name"]
    assert body["rfm_score"] == str(row["rfm_score"])
    missing = client.get("/api/v1/customers/no-such-customer")
    assert missing.status_code == 404
    assert "no-such-customer" in missing.json()["detail"]


def test_model_info(client, trained_project):
    info = client.get("/api/v1/model").json()
    versions = [p.name for p in (trained_project / RELEASES).iterdir()]
    assert info["version"] == max(versions)
    assert info["skipped_releases"] == []
    assert info["naming"]["unfilled_segments"] == []
    assert all(rule["holds"] for rule in info["naming"]["rules"])
    assert 0.5 <= info["stability"]["seeds_ari"] <= 1
    assert info["outliers"]["count"] >= 0
    assert set(info["outliers"]["bounds"]) == {"recency", "frequency", "monetary"}
    assert info["n_clusters"] == 4
    assert info["trained_at"].startswith(info["version"][:10])
    assert info["n_customers_segmented"] == len(read_segments(trained_project))
    assert info["feature_ranges"]["frequency"]["min"] >= 1
    assert -1 <= info["silhouette"] <= 1


def test_without_a_model_the_server_starts_and_says_what_to_run(
    client_for, project_factory
):
    client = client_for(project_factory())
    assert client.get("/health").status_code == 200
    for response in (
        client.get("/ready"),
        client.post("/api/v1/segment", json=REFERENCE),
    ):
        assert response.status_code == 503
        assert response.json() == {"detail": NO_MODEL_HINT}


def test_api_key_guards_api_v1_only(client_for, trained_project):
    client = client_for(trained_project, api_key="s3cret")
    assert client.post("/api/v1/segment", json=REFERENCE).status_code == 401
    wrong = client.post(
        "/api/v1/segment", json=REFERENCE, headers={"X-API-Key": "guess"}
    )
    assert wrong.status_code == 401
    right = client.post(
        "/api/v1/segment", json=REFERENCE, headers={"X-API-Key": "s3cret"}
    )
    assert right.status_code == 200
    for open_path in ("/health", "/ready", "/docs", "/openapi.json"):
        assert client.get(open_path).status_code == 200


def test_openapi_docs_carry_the_readme_example(client):
    schema = client.get("/openapi.json").json()
    assert schema["components"]["schemas"]["CustomerRFM"]["examples"] == [REFERENCE]
    paths = set(schema["paths"])
    assert {
        "/api/v1/segment",
        "/api/v1/segment/batch",
        "/api/v1/segments",
        "/api/v1/model",
        "/api/v1/model/reload",
        "/api/v1/customers/{customer_id}",
        "/health",
        "/ready",
    } <= paths


def test_reload_serves_a_new_version_and_survives_a_corrupt_one(
    client_for, project_factory, small_transactions
):
    project = project_factory(small_transactions)
    run_kedro(
        project, pipeline_names=["data_processing", "feature_engineering", "clustering"]
    )
    client = client_for(project)
    first = client.get("/api/v1/model").json()["version"]

    run_kedro(
        project,
        pipeline_names=["clustering"],
        runtime_params={"clustering": {"n_clusters": 3}},
    )
    reloaded = client.post("/api/v1/model/reload")
    assert reloaded.status_code == 200
    second = reloaded.json()["version"]
    assert second > first
    assert reloaded.json()["n_clusters"] == 3
    assert (
        client.post("/api/v1/segment", json=REFERENCE).json()["model_version"] == second
    )

    corrupt = project / RELEASES / "2999-01-01T00.00.00.000Z"
    shutil.copytree(project / RELEASES / second, corrupt)
    manifest = corrupt / "manifest.json"
    manifest.write_text(manifest.read_text().replace(second, corrupt.name))
    (corrupt / "model.pkl").write_bytes(b"not a pickle")
    reloaded = client.post("/api/v1/model/reload")
    assert reloaded.status_code == 200
    assert reloaded.json()["version"] == second
    assert reloaded.json()["skipped_releases"] == [
        {
            "version": corrupt.name,
            "reason": "model.pkl does not match the sha256 in its manifest "
            "(torn or replaced)",
        }
    ]
    assert client.get("/ready").status_code == 200

    pinned = client_for(project, model_version=first)
    assert pinned.get("/api/v1/model").json()["version"] == first
    bad_pin = client_for(project, model_version=corrupt.name)
    assert bad_pin.get("/ready").status_code == 503
    assert "RFM_MODEL_VERSION" in bad_pin.get("/ready").json()["detail"]


def test_customer_table_is_the_releases_own(client_for, trained_project):
    client = client_for(trained_project)
    n = client.get("/api/v1/model").json()["n_customers_segmented"]
    assert n == len(newest_release(trained_project).customers)
    assert n == len(read_segments(trained_project))


def test_openapi_documents_the_key_exactly_when_one_is_set(client_for, trained_project):
    open_schema = client_for(trained_project).get("/openapi.json").json()
    keyed_schema = client_for(trained_project, api_key="k").get("/openapi.json").json()
    assert "security" not in open_schema["paths"]["/api/v1/segment"]["post"]
    assert keyed_schema["paths"]["/api/v1/segment"]["post"]["security"] == [
        {"APIKeyHeader": []}
    ]


def test_a_customers_history_ends_with_the_segment_segment_gives(client):
    model = client.app.state.store.current
    last = model.snapshots[-1]
    at_last = model.history[model.history["snapshot"] == last]
    assert len(at_last) > 50
    for customer_id in at_last.index[:60]:
        history = client.get(f"/api/v1/customers/{customer_id}/history").json()
        assert [p["snapshot"] for p in history["snapshots"]] == sorted(
            p["snapshot"] for p in history["snapshots"]
        )
        final = history["snapshots"][-1]
        assert final["snapshot"] == last
        values = {k: final[k] for k in ("recency", "frequency", "monetary")}
        answer = client.post("/api/v1/segment", json=values).json()
        assert answer["segment_name"] == final["segment_name"]
        assert history["model_version"] == answer["model_version"]


def test_migrations_default_to_the_last_two_snapshots_and_add_up(client):
    model = client.app.state.store.current
    body = client.get("/api/v1/migrations").json()
    assert [body["from"], body["to"]] == model.snapshots[-2:]
    present = model.history.groupby("snapshot").size()
    counts = {
        (t["from_segment"], t["to_segment"]): t["customers"]
        for t in body["transitions"]
    }
    entered = sum(n for (start, _), n in counts.items() if start == "entered")
    assert sum(counts.values()) == present[body["from"]] + entered
    assert sum(n for (_, end), n in counts.items() if end == "left") == 0


def test_migrations_refuse_dates_that_are_not_snapshots_or_run_backwards(client):
    snapshots = client.app.state.store.current.snapshots
    not_one = client.get("/api/v1/migrations", params={"from": "2011-06-15"})
    assert not_one.status_code == 404
    assert "not a snapshot" in not_one.json()["detail"]
    backwards = client.get(
        "/api/v1/migrations", params={"from": snapshots[-1], "to": snapshots[0]}
    )
    assert backwards.status_code == 422
    assert client.get("/api/v1/migrations", params={"from": "June"}).status_code == 422
    assert client.get("/api/v1/customers/nobody/history").status_code == 404


def test_without_a_published_history_the_endpoints_say_what_to_run(
    client_for, project_factory, small_transactions
):
    project = project_factory(small_transactions)
    run_kedro(
        project, pipeline_names=["data_processing", "feature_engineering", "clustering"]
    )
    client = client_for(project)
    for path in ("/api/v1/migrations", "/api/v1/customers/12347/history"):
        response = client.get(path)
        assert response.status_code == 404
        assert "segment_history" in response.json()["detail"]
    assert client.post("/api/v1/segment", json=REFERENCE).status_code == 200
