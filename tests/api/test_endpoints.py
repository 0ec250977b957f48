"""Every endpoint through FastAPI's test client, on a model the pipeline trained."""

from __future__ import annotations

import io
import json
import shutil
import time

import numpy as np
import pandas as pd
import pytest

from rfm_segmentation.api.model_store import NO_MODEL_HINT
from rfm_segmentation.release import REPORT_FILE, ReleaseFolder
from rfm_segmentation.segments import RETURNING, SEGMENT_NAMES, base_segment

from ..support import RELEASES, newest_release, read_segments, run_kedro, source_id

SOURCE_ID = source_id()


REFERENCE = {"recency": 15, "frequency": 2, "monetary": 350.75}


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
        "/api/v1/segments/{name}/customers",
        "/api/v1/migrations/customers",
        "/health",
        "/ready",
    } <= paths


def test_openapi_documents_the_key_exactly_when_one_is_set(client_for, trained_project):
    open_schema = client_for(trained_project).get("/openapi.json").json()
    keyed_schema = client_for(trained_project, api_key="k").get("/openapi.json").json()
    assert "security" not in open_schema["paths"]["/api/v1/segment"]["post"]
    assert keyed_schema["paths"]["/api/v1/segment"]["post"]["security"] == [
        {"APIKeyHeader": []}
    ]


def expected(project, customer: dict) -> dict:
    """The release's own assignment of one customer (tenure if given)."""
    release = newest_release(project)
    rfm = np.array([[customer[f] for f in ("recency", "frequency", "monetary")]])
    tenure = np.array([customer["tenure"]]) if "tenure" in customer else None
    done = release.segmenter.assign(rfm, tenure)
    return {
        "segment_name": done.names[0],
        "cluster_label": int(done.labels[0]),
        "name_reason": done.reasons[0],
    }


def test_health_and_ready(client):
    assert client.get("/health").json() == {"status": "ok", "model_version": None}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready"
    assert ready["model_version"]


def test_the_seed_example_is_a_new_customer_and_says_what_it_could_not_check(
    client, trained_project
):
    response = client.post("/api/v1/segment", json=REFERENCE)
    assert response.status_code == 200
    body = response.json()
    assert body["segment_name"] == "New Customers"
    assert {k: body[k] for k in ("segment_name", "cluster_label", "name_reason")} == (
        expected(trained_project, REFERENCE)
    )
    assert body["strategy"] == base_segment("New Customers").strategy
    assert body["outside_training_range"] is False
    assert body["as_of"] == client.get("/api/v1/model").json()["as_of"]
    (unchecked,) = body["unchecked_rules"]
    assert unchecked.startswith("New Customers: first bought within")
    assert response.headers["x-request-id"]


def test_with_a_tenure_every_rule_is_checked_and_a_long_one_is_no_new_customer(
    client, trained_project
):
    short = client.post("/api/v1/segment", json={**REFERENCE, "tenure": 20}).json()
    assert (short["segment_name"], short["unchecked_rules"]) == ("New Customers", [])
    long = {**REFERENCE, "tenure": 360}
    body = client.post("/api/v1/segment", json=long).json()
    assert body["segment_name"] != "New Customers"
    assert body["name_reason"] == "moved: not new"
    assert {k: body[k] for k in ("segment_name", "cluster_label", "name_reason")} == (
        expected(trained_project, long)
    )
    too_short = client.post("/api/v1/segment", json={**REFERENCE, "tenure": 3})
    assert too_short.status_code == 422
    assert too_short.json()["detail"][0]["loc"] == ["body", "tenure"]


def test_table_and_segment_agree_for_every_customer_given_its_tenure(
    client, trained_project
):
    table = read_segments(trained_project)
    customers = [
        {
            "customer_id": row[SOURCE_ID],
            **{f: row[f] for f in ("recency", "frequency", "monetary", "tenure")},
        }
        for _, row in table.iterrows()
    ]
    results = client.post(
        "/api/v1/segment/batch", json={"customers": customers}
    ).json()["results"]
    assert [r["segment_name"] for r in results] == table["segment_name"].tolist()
    assert [r["name_reason"] for r in results] == table["name_reason"].tolist()
    for customer in customers[::25]:
        single = {k: v for k, v in customer.items() if k != "customer_id"}
        answer = client.post("/api/v1/segment", json=single).json()
        row = client.get(f"/api/v1/customers/{customer['customer_id']}").json()
        assert answer["segment_name"] == row["segment_name"]
        assert answer["as_of"] == row["as_of"]


def test_batch_answers_in_order_with_ids(client, trained_project):
    customers = [
        {"customer_id": "x1", **REFERENCE},
        {"recency": 300, "frequency": 1, "monetary": 20, "tenure": 320},
        {"customer_id": "x3", "recency": 2, "frequency": 40, "monetary": 30000},
    ]
    response = client.post("/api/v1/segment/batch", json={"customers": customers})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["customer_id"] for r in results] == ["x1", None, "x3"]
    for customer, result in zip(customers, results, strict=True):
        wanted = expected(trained_project, customer)
        assert {k: result[k] for k in wanted} == wanted
    assert results[1]["unchecked_rules"] == []
    bad = {"customers": [REFERENCE, {**REFERENCE, "tenure": 1}]}
    error = client.post("/api/v1/segment/batch", json=bad).json()["detail"][0]
    assert error["loc"] == ["body", "customers", 1, "tenure"]


def test_segments_describe_every_segment_with_its_revenue(client):
    body = client.get("/api/v1/segments").json()
    segments = body["segments"]
    assert {*SEGMENT_NAMES, RETURNING.name} <= {s["segment_name"] for s in segments}
    assert sum(s["share"] for s in segments) == pytest.approx(1, abs=1e-3)
    assert sum(s["revenue"]["share"] for s in segments) == pytest.approx(1, abs=1e-3)
    assert body["currency"] == "GBP"
    for segment in segments:
        assert segment["strategy"] == base_segment(segment["segment_name"]).strategy
        if segment["customers"]:
            assert segment["revenue"]["per_customer"] == pytest.approx(
                segment["revenue"]["total"] / segment["customers"], abs=0.01
            )


def test_customer_lookup_returns_the_latest_row_or_a_clear_404(client, trained_project):
    row = read_segments(trained_project).iloc[5]
    body = client.get(f"/api/v1/customers/{row[SOURCE_ID]}").json()
    assert body["customer_id"] == row[SOURCE_ID]
    assert body["segment_name"] == row["segment_name"]
    assert body["rfm_score"] == str(row["rfm_score"])
    assert body["as_of"] == row["as_of"]
    assert body["last_purchase"] == row["last_purchase"]
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
    assert info["n_customers"] == len(read_segments(trained_project))
    assert info["feature_ranges"]["frequency"]["min"] >= 1
    assert -1 <= info["silhouette"] <= 1
    assert info["as_of"] == read_segments(trained_project)["as_of"].iloc[0]
    assert info["input"]["path"].endswith("online_retail.csv")
    assert 0.9 <= info["customer_fit"]["kept_share"] <= 1


def test_reload_serves_a_new_version_and_survives_a_corrupt_one(
    client_for, project_factory, small_transactions
):
    project = project_factory(small_transactions)
    run_kedro(project)
    client = client_for(project, reload_seconds=0)
    first = client.get("/api/v1/model").json()["version"]

    run_kedro(project, runtime_params={"clustering": {"n_clusters": 3}})
    assert client.get("/api/v1/model").json()["version"] == first  # no watching
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


def test_a_reload_in_one_worker_switches_the_others_before_their_next_answer(
    client_for, project_factory, small_transactions, tmp_path
):
    """Two apps as two workers of one host (the same runtime folder)."""
    project = project_factory(small_transactions)
    run_kedro(project)
    workers = [
        client_for(project, reload_seconds=0, runtime_dir=tmp_path) for _ in range(2)
    ]
    (first,) = {w.get("/api/v1/model").json()["version"] for w in workers}
    run_kedro(project)
    assert workers[0].post("/api/v1/model/reload").status_code == 200
    answers = {
        w.post("/api/v1/segment", json=REFERENCE).json()["model_version"]
        for w in workers
    }
    assert len(answers) == 1 and answers != {first}


def test_a_worker_notices_a_new_release_by_itself(
    client_for, project_factory, small_transactions
):
    project = project_factory(small_transactions)
    run_kedro(project)
    client = client_for(project, reload_seconds=0.2)
    first = client.get("/api/v1/model").json()["version"]
    run_kedro(project)
    deadline = time.monotonic() + 10
    while client.get("/api/v1/model").json()["version"] == first:
        assert time.monotonic() < deadline, "no switch within 10 s"
        time.sleep(0.1)


def test_a_customers_history_ends_at_the_as_of_date_with_their_table_row(client):
    release = client.app.state.store.current
    ids = release.customers.column("customer_id").to_pylist()
    for customer_id in ids[:: max(1, len(ids) // 60)]:
        history = client.get(f"/api/v1/customers/{customer_id}/history").json()
        dates = [p["snapshot"] for p in history["snapshots"]]
        assert dates == sorted(dates)
        final = history["snapshots"][-1]
        row = client.get(f"/api/v1/customers/{customer_id}").json()
        assert final["snapshot"] == history["as_of"] == row["as_of"]
        for key in ("recency", "frequency", "monetary", "tenure", "segment_name"):
            assert final[key] == row[key]
        assert history["model_version"] == release.version


def test_migrations_default_to_the_last_two_snapshots_and_add_up(client):
    release = client.app.state.store.current
    snapshots = list(release.history.snapshots)
    body = client.get("/api/v1/migrations").json()
    assert [body["from"], body["to"]] == snapshots[-2:]
    assert body["to"] == release.profile.as_of.isoformat()
    counts = {
        (t["from_segment"], t["to_segment"]): t["customers"]
        for t in body["transitions"]
    }
    assert sum(counts.values()) == release.customers.num_rows
    first = client.get(
        "/api/v1/migrations", params={"from": snapshots[0], "to": snapshots[-1]}
    ).json()
    assert sum(t["customers"] for t in first["transitions"]) == sum(counts.values())


def test_migrations_answer_each_pair_of_snapshots_with_its_rows_of_the_table(client):
    release = client.app.state.store.current
    snapshots, table = list(release.history.snapshots), release.migrations
    for i, begin in enumerate(snapshots):
        for to in snapshots[i + 1 :]:
            rows = table[(table["from"] == begin) & (table["to"] == to)]
            answer = client.get("/api/v1/migrations", params={"from": begin, "to": to})
            assert answer.json()["transitions"] == rows.drop(
                columns=["from", "to"]
            ).to_dict("records"), (begin, to)


def test_migrations_refuse_dates_that_are_not_snapshots_or_run_backwards(client):
    snapshots = client.app.state.store.current.history.snapshots
    not_one = client.get("/api/v1/migrations", params={"from": "2011-06-15"})
    assert not_one.status_code == 404
    assert "not a snapshot" in not_one.json()["detail"]
    backwards = client.get(
        "/api/v1/migrations", params={"from": snapshots[-1], "to": snapshots[0]}
    )
    assert backwards.status_code == 422
    assert client.get("/api/v1/migrations", params={"from": "June"}).status_code == 422
    assert client.get("/api/v1/customers/nobody/history").status_code == 404


def test_report_is_the_served_releases_page_behind_the_same_key(
    client_for, trained_project
):
    page = client_for(trained_project).get("/report")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    written = (trained_project / "data" / "08_reporting" / "report.html").read_bytes()
    assert page.content == newest_release(trained_project).report == written
    keyed = client_for(trained_project, api_key="s3cret")
    assert keyed.get("/report").status_code == 401
    assert keyed.get("/report", headers={"X-API-Key": "guess"}).status_code == 401
    right = keyed.get("/report", headers={"X-API-Key": "s3cret"})
    assert right.content == page.content


def test_a_release_without_a_report_says_how_to_publish_one(
    client_for, trained_project, project_factory
):
    project = project_factory()
    (version,) = ReleaseFolder(trained_project / RELEASES).versions()
    folder = project / RELEASES / version
    shutil.copytree(trained_project / RELEASES / version, folder)
    (folder / REPORT_FILE).unlink()
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files"][REPORT_FILE]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    client = client_for(project)
    assert client.get("/api/v1/model").json()["version"] == version
    response = client.get("/report")
    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"Release {version} has no report page: run `kedro run` to publish a "
        "release with one."
    )


def test_a_segments_customers_come_a_page_at_a_time_in_id_order(
    client, trained_project
):
    people = read_segments(trained_project)
    members = people[people["segment_name"] == "At-Risk"]
    expected = sorted(members[SOURCE_ID])
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/segments/At-Risk/customers", params=params).json()
        assert body["segment_name"] == "At-Risk"
        assert body["customers"] == len(expected)
        assert len(body["items"]) <= 100
        seen += [item["customer_id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == -(-len(expected) // 100)
    first = client.get("/api/v1/segments/at_risk/customers", params={"limit": 1})
    (item,) = first.json()["items"]
    row = members.set_index(SOURCE_ID).loc[item["customer_id"]]
    assert item["Country"] == row["Country"]  # the carried column
    assert item["segment_name"] == "At-Risk"
    assert item["monetary"] == pytest.approx(row["monetary"])


def test_format_csv_streams_a_segments_whole_list(client, trained_project):
    people = read_segments(trained_project)
    response = client.get(
        "/api/v1/segments/champions/customers", params={"format": "csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="champions.csv"' in response.headers["content-disposition"]
    table = pd.read_csv(io.StringIO(response.text), dtype={"customer_id": str})
    members = people[people["segment_name"] == "Champions"]
    assert table["customer_id"].tolist() == sorted(members[SOURCE_ID])
    assert {"Country", "segment_name", "monetary", "last_purchase"} <= set(table)
    assert set(table["segment_name"]) == {"Champions"}


def test_an_unknown_segment_is_a_404_naming_the_known_ones(client):
    for path in (
        "/api/v1/segments/VIPs/customers",
        "/api/v1/migrations/customers?from_segment=VIPs&to_segment=At-Risk",
        "/api/v1/migrations/customers?from_segment=At-Risk&to_segment=entered",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Champions, At-Risk" in response.json()["detail"]
    too_many = client.get("/api/v1/segments/At-Risk/customers", params={"limit": 0})
    assert too_many.status_code == 422


def test_movers_are_the_ids_behind_each_migration_count(client):
    release = client.app.state.store.current
    snapshots = list(release.history.snapshots)
    counts = {
        (t["from_segment"], t["to_segment"]): t["customers"]
        for t in client.get("/api/v1/migrations").json()["transitions"]
    }
    (source, target), count = max(counts.items(), key=lambda item: item[1])
    body = client.get(
        "/api/v1/migrations/customers",
        params={"from_segment": source, "to_segment": target},
    ).json()
    assert [body["from"], body["to"]] == snapshots[-2:]
    assert (body["from_segment"], body["to_segment"]) == (source, target)
    assert body["customers"] == len(body["customer_ids"]) == count
    assert body["customer_ids"] == sorted(body["customer_ids"])
    for customer_id in body["customer_ids"][:5]:
        history = client.get(f"/api/v1/customers/{customer_id}/history").json()
        by_date = {p["snapshot"]: p["segment_name"] for p in history["snapshots"]}
        assert by_date.get(snapshots[-2], "entered") == source
        assert by_date[snapshots[-1]] == target
    entered = client.get(
        "/api/v1/migrations/customers",
        params={
            "from_segment": "entered",
            "to_segment": "new_customers",
            "from": snapshots[0],
        },
    ).json()
    assert entered["from"] == snapshots[0]
    assert entered["customers"] > 0


def test_the_customer_lists_follow_the_api_key_rule(client_for, trained_project):
    client = client_for(trained_project, api_key="s3cret")
    for path in (
        "/api/v1/segments/At-Risk/customers",
        "/api/v1/segments/At-Risk/customers?format=csv",
        "/api/v1/migrations/customers?from_segment=At-Risk&to_segment=Champions",
    ):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"X-API-Key": "guess"}).status_code == 401
        assert client.get(path, headers={"X-API-Key": "s3cret"}).status_code == 200


def test_answers_carry_the_currency(client):
    assert client.get("/api/v1/segments").json()["currency"] == "GBP"
    assert client.get("/api/v1/model").json()["currency"] == "GBP"
