"""The HTTP API: inbound, records, plugins, health, OpenAPI, errors and roles."""

from __future__ import annotations

import json

from tests.helpers import sample

HRSS = ["hrss-clue.json", "hrss-case.json", "hrss-order.json", "hrss-transfer.json"]


def post(client, agency, body, headers, message_id, content_type="application/json", **extra):
    return client.post(f"/api/v1/inbound/{agency}", data=body,
                       headers={**headers, "message_id": message_id, "Content-Type": content_type, **extra})


def test_inbound_over_http_is_durably_accepted_or_refused_with_reason(client, token):
    hrss = token("agency:hrss")
    resp = post(client, "hrss", sample("hrss-clue.json"), hrss, "h-1")
    assert resp.status_code == 202
    assert resp.json["status"] == "accepted" and resp.json["message_id"] == "h-1"
    [record_id] = resp.json["records"]
    again = post(client, "hrss", sample("hrss-clue.json"), hrss, "h-1")
    assert again.status_code == 202 and again.json["status"] == "duplicate"

    bad = post(client, "hrss", sample("bad/hrss-bad-idcheck.json"), hrss, "h-2")
    assert bad.status_code == 422
    assert bad.json["error"]["details"]["field"] == "data.complainant.idNo"
    assert "id-number" in bad.json["error"]["details"]["rule"]
    assert "370103198212262340" not in bad.text
    broken = post(client, "hrss", sample("bad/hrss-bad-json.json"), hrss, "h-3")
    assert broken.status_code == 400 and broken.json["error"]["details"]["rule"] == "json"
    no_id = client.post("/api/v1/inbound/hrss", data=b"{}", headers={**hrss, "Content-Type": "application/json"})
    assert no_id.status_code == 400 and no_id.json["error"]["details"]["field"] == "message_id"

    # the record is readable by its sender and by admins; viewers see personal data masked
    mine = client.get(f"/api/v1/records/{record_id}", headers=hrss)
    assert mine.status_code == 200 and mine.json["complainant"]["mobile"] == "13923720696"
    viewer = client.get(f"/api/v1/records/{record_id}", headers=token("viewer"))
    assert viewer.json["complainant"]["mobile"] == "139****0696"
    assert viewer.json["complainant"]["id_number"].startswith("370103") and "*" in viewer.json["complainant"]["id_number"]
    other = client.get(f"/api/v1/records/{record_id}", headers=token("agency:police"))
    assert other.status_code == 404


def test_agency_posts_only_as_itself_and_reads_only_what_was_routed_to_it(client, token):
    police = token("agency:police")
    resp = post(client, "hrss", sample("hrss-clue.json"), police, "x-1")
    assert resp.status_code == 403
    hrss = token("agency:hrss")
    for i, name in enumerate(HRSS):
        assert post(client, "hrss", sample(name), hrss, f"t-{i}").status_code == 202
    seen = client.get("/api/v1/records", headers=police).json["items"]
    assert [r["type"] for r in seen] == ["criminal_transfer"]
    # police sees the transfer as its route allows: with suspects' identity numbers it needs
    assert seen[0]["suspects"][0]["id_number"] == "370103196601215548"
    assert "complainant" not in json.dumps(seen)
    # with the envelope every record carries (the contract), received_at included
    envelope = {"record_id", "type", "schema_version", "source_agency", "source_ref", "matter_id", "received_at"}
    assert envelope <= set(seen[0])
    one = client.get(f"/api/v1/records/{seen[0]['record_id']}", headers=police).json
    assert one["received_at"] == seen[0]["received_at"] and one["received_at"].endswith("+08:00")


def test_records_are_paged_with_a_cursor(client, token):
    hrss = token("agency:hrss")
    for i, name in enumerate(HRSS):
        post(client, "hrss", sample(name), hrss, f"p-{i}")
    admin = token("admin")
    first = client.get("/api/v1/records?limit=3", headers=admin).json
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = client.get(f"/api/v1/records?limit=3&cursor={first['next_cursor']}", headers=admin).json
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    ids = [r["record_id"] for r in first["items"] + second["items"]]
    assert len(set(ids)) == 4
    only = client.get("/api/v1/records?type=payment_order", headers=admin).json["items"]
    assert [r["type"] for r in only] == ["payment_order"]
    assert client.get("/api/v1/records?limit=501", headers=admin).status_code == 400
    assert client.get("/api/v1/records?cursor=@@@", headers=admin).status_code == 400
    assert client.get("/api/v1/records?since=2023-01-01", headers=admin).status_code == 400
    future = client.get("/api/v1/records?since=2999-01-01T00:00:00%2B08:00", headers=admin).json
    assert future["items"] == []
    exact = client.get("/api/v1/records?limit=4", headers=admin).json  # the last page is exactly full
    assert len(exact["items"]) == 4 and exact["next_cursor"] is None
    for i in range(2):
        post(client, "hrss", b"{", hrss, f"broken-{i}")
    letters = client.get("/api/v1/dead-letters?limit=2", headers=admin).json
    assert len(letters["items"]) == 2 and letters["next_cursor"] is None
    first = client.get("/api/v1/dead-letters?limit=1", headers=admin).json
    assert len(first["items"]) == 1 and first["next_cursor"]


def test_query_values_out_of_any_range_are_a_400_naming_the_field(client, token):
    admin = token("admin")
    huge = "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk"  # base64 of a 26-digit number
    for url, field in ((f"/api/v1/records?cursor={huge}", "cursor"), (f"/api/v1/dead-letters?cursor={huge}", "cursor"),
                       ("/api/v1/records?since=0001-01-01T00:00:00%2B14:00", "since"),
                       ("/api/v1/records?since=9999-12-31T23:59:59-14:00", "since")):
        resp = client.get(url, headers=admin)
        assert resp.status_code == 400 and resp.json["error"]["details"]["field"] == field, url


def test_a_disabled_agencys_message_waits_in_its_queue_and_is_applied_once_enabled(hub, client, token):
    """The contract has a disabled plugin's queue fill, not drain: over HTTP too, the message
    is queued durably (202, status queued) and applied when the plugin is enabled again."""
    from sqlalchemy import func, select

    from hub.runtime import Workers
    from hub.store.models import Record
    from tests.helpers import wait_for

    admin = token("admin")
    assert client.post("/api/v1/plugins/hrss/disable", headers=admin).status_code == 200
    held = post(client, "hrss", sample("hrss-clue.json"), token("agency:hrss"), "held-1")
    assert held.status_code == 202 and held.json["status"] == "queued" and held.json["message_id"] == "held-1"

    def records():
        with hub.store.sessions() as session:
            return session.execute(select(func.count()).select_from(Record)).scalar()

    with Workers(hub):
        assert records() == 0
        assert client.post("/api/v1/plugins/hrss/enable", headers=admin).status_code == 200
        wait_for(lambda: records() == 1, timeout=30)


def test_every_api_route_refuses_missing_bad_and_wrong_role_tokens(client, token):
    from hub.web.api import API_ROUTES

    viewer_forbidden = 0
    for route in API_ROUTES:
        path = route.rule.replace("<agency>", "hrss").replace("<int:dead_letter_id>", "1") \
            .replace("<record_id>", "x").replace("<matter_id>", "x").replace("<transfer_no>", "x") \
            .replace("<name>", "hrss")
        for method in route.methods:
            call = getattr(client, method.lower())
            assert call(path).status_code == 401, path
            assert call(path, headers={"Authorization": "Bearer nope"}).status_code == 401, path
            assert call(path, headers={"Authorization": "Basic abc"}).status_code == 401, path
            if "viewer" not in route.roles:
                assert call(path, headers=token("viewer")).status_code == 403, path
                viewer_forbidden += 1
    assert viewer_forbidden >= 8


def test_revoked_and_expired_tokens_are_refused(hub, client):
    from hub.web.auth import create_token, revoke_token

    tok = create_token(hub.store, "admin")
    assert client.get("/api/v1/plugins", headers={"Authorization": f"Bearer {tok}"}).status_code == 200
    assert revoke_token(hub.store, tok)
    assert client.get("/api/v1/plugins", headers={"Authorization": f"Bearer {tok}"}).status_code == 401
    expired = create_token(hub.store, "admin", expires_in_days=-1)
    resp = client.get("/api/v1/plugins", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401 and resp.json["error"]["message"] == "token expired"


def test_plugins_health_readiness_metrics_openapi(client, token):
    plugins = client.get("/api/v1/plugins", headers=token("admin")).json["items"]
    names = {p["name"]: p for p in plugins}
    assert {"hrss", "police"} <= set(names)
    assert names["police"]["kinds_out"] == ["AJYS", "FYSQ", "ZFQK", "CBTZ", "BCYS"] and names["police"]["enabled"] is True
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"] == {"database": "ok", "broker": "ok"}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and b"wagehub_inbound_messages_total" in metrics.data
    assert metrics.headers["Content-Type"].count("charset") == 1  # twice, and Prometheus cannot parse it
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    from hub.web.api import API_ROUTES

    paths = {r.rule.replace("<int:", "<").replace("<", "{").replace(">", "}") for r in API_ROUTES}
    assert paths == set(spec["paths"])
    assert "Record_clue" in spec["components"]["schemas"]


def test_errors_are_json_never_html(client, token):
    resp = client.get("/no/such/page")
    assert resp.status_code == 404 and resp.json["error"]["code"] == "not_found"
    resp = client.get("/api/v1/matters/none", headers=token("admin"))
    assert resp.status_code == 404 and resp.is_json
    resp = client.put("/api/v1/plugins", headers=token("admin"))
    assert resp.status_code == 405 and resp.is_json


def test_readyz_reports_a_broker_that_is_down(settings):
    from hub.runtime import Hub
    from hub.web.app import create_app

    settings["hub"]["broker_url"] = "amqp://guest:guest@127.0.0.1:1//"
    hub = Hub(settings)
    resp = create_app(hub=hub).test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.json["checks"]["database"] == "ok" and resp.json["checks"]["broker"].startswith("down")
    hub.shutdown()
