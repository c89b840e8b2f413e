"""Public ingest against the real local ClickHouse server: every type, edits, retries, batches, limits."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

from ingest_api.ratelimit import IngestLimits
from tests.api.ingest_support import (
    BROWSER_UA, ORIGIN, ingest_settings, project_client, seed_project, wait_for_rows,
)  # fmt: skip

COUNT_BY_KEYS = "SELECT count() FROM raw.feedback_events WHERE project_id = {p:String} AND idempotency_key IN {keys:Array(String)}"


@pytest.fixture(scope="module")
def api_settings(clickhouse_server, tmp_path_factory):
    settings = ingest_settings(tmp_path_factory.mktemp("ingest-api"), spool_drain_interval_ms=100)
    return settings, seed_project(settings)


@pytest.fixture(scope="module")
def api(api_settings):
    with project_client(*api_settings) as client:
        yield client


def key() -> str:
    return uuid.uuid4().hex


def create(api, content_set: str, content_key: str = "/guide", **fields):
    body = {"content_set": content_set, "content_key": content_key, "idempotency_key": key(), **fields}
    return api.post("/v1/signals", json=body)


def events(ch, project_id: str, signal_ids: list[str], expected: int) -> list[dict]:
    count, _ = wait_for_rows(
        ch,
        "SELECT count() FROM raw.feedback_events WHERE project_id = {p:String} AND signal_id IN {ids:Array(UUID)}",
        {"p": project_id, "ids": signal_ids},
        expected,
    )
    assert count == expected
    result = ch.query(
        "SELECT * FROM raw.feedback_events WHERE project_id = {p:String} AND signal_id IN {ids:Array(UUID)} "
        "ORDER BY received_at, operation",
        parameters={"p": project_id, "ids": signal_ids},
    )
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


CASES = [
    # content set, value fields sent, stored (value, rating_scale, reaction, message), edit fields, stored after edit
    ("votes", {"value": "yes"}, (1, 0, "", ""), {"value": False}, (-1, 0, "", "")),
    ("thumbs", {"value": "down"}, (-1, 0, "", ""), {"value": "up"}, (1, 0, "", "")),
    ("stars", {"value": 6}, (6, 7, "", ""), {"value": "3"}, (3, 7, "", "")),
    ("hearts", {"value": True}, (1, 0, "", ""), {}, (1, 0, "", "")),
    ("emoji", {"value": "🎉"}, (None, 0, "tada", ""), {"value": "heart"}, (None, 0, "heart", "")),
    (
        "feedback",
        {"message": " Typo in step 2 ", "tags": ["bug"], "contact_email": "Ann@Example.com", "form_fields": {"section": "install"}},
        (None, 0, "", "Typo in step 2"),
        {"message": "Typo in step 3", "tags": ["bug", "idea"]},
        (None, 0, "", "Typo in step 3"),
    ),
]


@pytest.mark.parametrize(("content_set", "sent", "stored", "edit", "edited"), CASES, ids=[c[0] for c in CASES])
def test_create_edit_revoke_every_type(api, ch, content_set, sent, stored, edit, edited):
    created = create(api, content_set, **sent)
    assert created.status_code == 201, created.text
    signal = created.json()
    assert uuid.UUID(signal["signal_id"]) and signal["edit_token"]
    until = dt.datetime.fromisoformat(signal["editable_until"])
    assert dt.timedelta(minutes=59) < until - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=1)

    path = f"/v1/signals/{signal['signal_id']}"
    edited_response = api.patch(path, json={"edit_token": signal["edit_token"], "idempotency_key": key(), **edit})
    assert edited_response.status_code == 200, edited_response.text
    assert edited_response.json() == {"signal_id": signal["signal_id"], "editable_until": signal["editable_until"]}
    revoked = api.delete(path, headers={"X-Feelback-Edit-Token": signal["edit_token"], "Idempotency-Key": key()})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {"signal_id": signal["signal_id"], "revoked": True}

    rows = events(ch, api.project.id, [signal["signal_id"]], 3)
    assert [row["operation"] for row in rows] == ["create", "edit", "revoke"]
    expected_type = {"votes": "yesno", "thumbs": "updown", "stars": "rating", "hearts": "like", "emoji": "reaction"}
    assert {row["signal_type"] for row in rows} == {expected_type.get(content_set, "message")}
    for row, values in zip(rows, (stored, edited), strict=False):
        assert (row["value"], row["rating_scale"], row["reaction"], row["message"]) == values
    assert rows[2]["value"] is None and rows[2]["message"] == ""
    # One visitor, hashed: no IP or user agent anywhere in the row.
    assert len({row["visitor_id"] for row in rows}) == 1 and len(rows[0]["visitor_id"]) == 32
    assert all("testclient" not in str(value) and "Mozilla" not in str(value) for row in rows for value in row.values())
    assert {row["content_key"] for row in rows} == {"/guide"} and not any(row["is_bot"] for row in rows)
    if content_set == "feedback":
        assert rows[0]["tags"] == ["bug"] and rows[0]["contact_email"] == "Ann@example.com"
        assert rows[0]["form_fields"] == {"section": "install"}


def test_every_acknowledged_signal_becomes_queryable(api, ch):
    """Every acknowledged signal reaches ClickHouse (polled up to 30 s, stopping when all are there).
    How fast (ack -> queryable p50/p99, target p99 <= 2 s) is measured by bench/ingest.py's (c):
    ``.venv/bin/python bench/ingest.py``."""
    keys = [key() for _ in range(20)]
    for k in keys:
        body = {"content_set": "hearts", "content_key": "/fast", "value": 1, "idempotency_key": k}
        assert api.post("/v1/signals", json=body).status_code == 201
    count, _ = wait_for_rows(ch, COUNT_BY_KEYS, {"p": api.project.id, "keys": keys}, len(keys))
    assert count == len(keys)


def test_edit_keeps_the_type_rules(api):
    signal = create(api, "stars", value=5).json()
    path = f"/v1/signals/{signal['signal_id']}"
    refused = api.patch(path, json={"edit_token": signal["edit_token"], "value": 9})
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == 'value: rating must be an integer from 1 to 7 for content set "stars"'

    message = create(api, "feedback", message="Great page").json()
    refused = api.patch(f"/v1/signals/{message['signal_id']}", json={"edit_token": message["edit_token"], "message": "x", "tags": ["spam"]})
    assert refused.status_code == 422 and "tags: tag 'spam' is not allowed" in refused.json()["error"]["message"]


def test_edit_token_is_bound_to_its_signal(api):
    first, second = create(api, "votes", value=True).json(), create(api, "votes", value=True).json()
    stolen = api.patch(f"/v1/signals/{second['signal_id']}", json={"edit_token": first["edit_token"], "value": False})
    assert stolen.status_code == 403 and stolen.json()["error"]["code"] == "invalid_edit_token"
    payload, mac = first["edit_token"].split(".")
    forged = api.delete(f"/v1/signals/{first['signal_id']}", headers={"X-Feelback-Edit-Token": payload + "." + mac[::-1]})
    assert forged.status_code == 403


def test_edit_tokens_name_no_ids_and_tokens_issued_before_still_verify():
    """A token carries the visitor, content and expiry; project and signal id are only under its MAC.
    A token of the earlier form (ids inside, MAC over the payload alone) still verifies."""
    import base64
    import hmac

    import orjson

    from ingest_api.privacy import EditGrant, EditTokens, EditTokenError

    secret = b"s" * 32
    tokens = EditTokens(secret)
    grant = EditGrant("project-1", "signal-1", "visitor", "docs", "/a", "rating", 1_800_000_000_000)
    token = tokens.issue(grant)
    payload = base64.urlsafe_b64decode(token.split(".")[0] + "==")
    assert b"project-1" not in payload and b"signal-1" not in payload
    assert tokens.verify(token, "project-1", "signal-1") == grant
    for project_id, signal_id in (("project-2", "signal-1"), ("project-1", "signal-2")):
        with pytest.raises(EditTokenError):
            tokens.verify(token, project_id, signal_id)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    legacy_payload = orjson.dumps(list(grant))
    legacy = f"{b64(legacy_payload)}.{b64(hmac.digest(secret, legacy_payload, 'sha256')[:16])}"
    assert tokens.verify(legacy, "project-1", "signal-1") == grant
    with pytest.raises(EditTokenError):
        tokens.verify(legacy, "project-1", "signal-2")
    with pytest.raises(EditTokenError):
        EditTokens(b"t" * 32).verify(legacy, "project-1", "signal-1")


def test_edit_after_the_window_is_final(api):
    signal = create(api, "quick", value="no").json()
    closes = dt.datetime.fromisoformat(signal["editable_until"])
    ingest = api.app.state.signal_ingest
    ingest.clock = lambda: time.time() + 1.5
    try:
        late = api.patch(f"/v1/signals/{signal['signal_id']}", json={"edit_token": signal["edit_token"], "value": "yes"})
        late_revoke = api.delete(f"/v1/signals/{signal['signal_id']}", headers={"X-Feelback-Edit-Token": signal["edit_token"]})
    finally:
        ingest.clock = time.time
    assert late.status_code == 409 and late_revoke.status_code == 409
    error = late.json()["error"]
    assert error["code"] == "signal_final"
    assert dt.datetime.fromisoformat(error["closed_at"]) == closes
    assert "can no longer be edited" in error["message"]

    final = create(api, "final", value=4).json()
    assert final["edit_token"] is None


def test_retry_with_the_same_key_is_stored_once(api, ch):
    body = {"content_set": "thumbs", "content_key": "/retry", "value": "up", "idempotency_key": key()}
    first = api.post("/v1/signals", json=body)
    second = api.post("/v1/signals", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second.headers["Idempotent-Replayed"] == "true"

    edit_key = key()
    path = f"/v1/signals/{first.json()['signal_id']}"
    edits = [api.patch(path, json={"edit_token": first.json()["edit_token"], "value": "down", "idempotency_key": edit_key}) for _ in range(2)]
    assert [r.status_code for r in edits] == [200, 200] and edits[0].json() == edits[1].json()

    reused = api.post("/v1/signals", json={**body, "value": "down"})
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"

    keys = [body["idempotency_key"], edit_key]
    time.sleep(0.5)  # give a duplicate the chance to arrive
    count, _ = wait_for_rows(ch, COUNT_BY_KEYS, {"p": api.project.id, "keys": keys}, 2)
    assert count == 2


def test_batch_answers_each_operation(api, ch):
    signal = create(api, "votes", value="yes").json()
    operations = [
        {"op": "create", "content_set": "stars", "content_key": "/b", "value": 7, "idempotency_key": key()},
        {"op": "create", "content_set": "stars", "content_key": "/b", "value": 8, "idempotency_key": key()},
        {"op": "create", "content_set": "nope", "content_key": "/b", "value": 1, "idempotency_key": key()},
        {"op": "edit", "signal_id": signal["signal_id"], "edit_token": signal["edit_token"], "value": "no", "idempotency_key": key()},
        {"op": "revoke", "signal_id": str(uuid.uuid4()), "edit_token": signal["edit_token"], "idempotency_key": key()},
        {"op": "delete", "signal_id": signal["signal_id"]},
        {"op": "create", "content_set": "emoji", "content_key": "/b", "value": "eyes", "idempotency_key": key()},
    ]
    operations.append(dict(operations[0]))  # the same operation twice: stored once, same answer
    response = api.post("/v1/batch", json={"operations": operations})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 422, 404, 200, 403, 422, 201, 201]
    assert results[1]["body"]["error"]["message"] == 'value: rating must be an integer from 1 to 7 for content set "stars"'
    assert "no content set 'nope'" in results[2]["body"]["error"]["message"]
    assert "op: " in results[5]["body"]["error"]["message"]
    assert results[7] == results[0]

    stored_keys = [operations[i]["idempotency_key"] for i in (0, 3, 6)]
    refused_keys = [operations[i].get("idempotency_key", "") for i in (1, 2, 4)]
    count, _ = wait_for_rows(ch, COUNT_BY_KEYS, {"p": api.project.id, "keys": stored_keys}, 3)
    assert count == 3
    assert ch.query(COUNT_BY_KEYS, parameters={"p": api.project.id, "keys": refused_keys}).result_rows[0][0] == 0

    again = api.post("/v1/batch", json={"operations": operations})
    assert again.json()["results"] == results


def test_batch_envelope_is_checked_as_a_whole(api):
    too_many = [{"op": "create", "content_set": "hearts", "content_key": "/x"}] * 501
    response = api.post("/v1/batch", json={"operations": too_many})
    assert response.status_code == 422 and "operations: " in response.json()["error"]["message"]
    assert api.post("/v1/batch", json={"operations": ["create"]}).status_code == 422
    assert api.post("/v1/batch", json={"operations": []}).status_code == 422


def test_cors_allows_the_projects_origins_only(api, ch):
    preflight = api.options(
        "/v1/signals",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-feelback-key, content-type"},
    )
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] in ("*", ORIGIN)
    assert "x-feelback-key" in preflight.headers["access-control-allow-headers"].lower()

    body = {"content_set": "hearts", "content_key": "/cors", "idempotency_key": key()}
    allowed = api.post("/v1/signals", json=body, headers={"Origin": ORIGIN})
    assert allowed.status_code == 201 and allowed.headers["access-control-allow-origin"] in ("*", ORIGIN)

    denied_key = key()
    denied = api.post("/v1/signals", json={**body, "idempotency_key": denied_key}, headers={"Origin": "https://evil.example"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "origin_not_allowed"
    assert "https://evil.example" in denied.json()["error"]["message"]
    time.sleep(0.4)
    assert ch.query(COUNT_BY_KEYS, parameters={"p": api.project.id, "keys": [denied_key]}).result_rows[0][0] == 0


def test_rate_limits_answer_429_with_retry_after(api):
    ingest = api.app.state.signal_ingest
    saved = ingest.limits
    ingest.limits = IngestLimits(visitor_per_minute=3, project_per_second=1000)
    try:
        statuses = [create(api, "hearts", "/limited").status_code for _ in range(4)]
        # An anonymous id of the client's choosing does not make it another visitor: the limit is on its address.
        other_visitor = create(api, "hearts", "/limited", anonymous_id="visitor-0002")
        limited = create(api, "hearts", "/limited")
        ingest.limits = IngestLimits(visitor_per_minute=1000, project_per_second=2)
        project_statuses = [create(api, "hearts", "/limited", anonymous_id=f"visitor-{i:04d}").status_code for i in range(3)]
    finally:
        ingest.limits = saved
    assert statuses == [201, 201, 201, 429] and other_visitor.status_code == 429
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    assert project_statuses == [201, 201, 429]


def test_crawlers_are_stored_but_flagged(api, ch):
    response = create(api, "votes", "/bots", value="yes", idempotency_key=key())
    bot = api.post(
        "/v1/signals",
        json={"content_set": "votes", "content_key": "/bots", "value": "yes", "idempotency_key": key()},
        headers={"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
    )
    assert response.status_code == bot.status_code == 201
    rows = events(ch, api.project.id, [response.json()["signal_id"], bot.json()["signal_id"]], 2)
    flags = {str(row["signal_id"]): row["is_bot"] for row in rows}
    assert flags == {response.json()["signal_id"]: False, bot.json()["signal_id"]: True}


def test_body_over_the_limit_is_413(api):
    huge = {"content_set": "feedback", "content_key": "/big", "message": "x" * (2 * 1024 * 1024)}
    response = api.post("/v1/signals", json=huge)
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"


BAD_REQUESTS = [
    ({"content_key": "/a", "value": 1}, 422, "content_set: is required"),
    ({"content_set": "Votes!", "content_key": "/a", "value": 1}, 422, "content_set: "),
    ({"content_set": "votes", "content_key": "", "value": 1}, 422, "content_key: "),
    ({"content_set": "votes", "content_key": "/" * 2049, "value": 1}, 422, "content_key: "),
    ({"content_set": "votes", "content_key": "/a", "value": "maybe"}, 422, 'value: yes/no must be true, false, "yes" or "no"'),
    ({"content_set": "votes", "content_key": "/a", "value": [1]}, 422, "value: "),
    ({"content_set": "votes", "content_key": "/a", "value": 1, "colour": "red"}, 422, "colour: is not a known field"),
    ({"content_set": "votes", "content_key": "/a", "value": 1, "message": "hi"}, 422, "message: only message signals"),
    ({"content_set": "feedback", "content_key": "/a", "message": "x" * 201}, 422, "message: message must be at most 200 characters"),
    ({"content_set": "feedback", "content_key": "/a", "message": "x" * 20001}, 422, "message: "),
    ({"content_set": "feedback", "content_key": "/a", "message": "hi", "contact_email": "nope"}, 422, "contact_email: "),
    ({"content_set": "feedback", "content_key": "/a", "message": "hi", "form_fields": {"age": "3"}}, 422, "form_fields.age: unknown form field"),
    ({"content_set": "votes", "content_key": "/a", "value": 1, "occurred_at": "2199-01-01T00:00:00Z"}, 422, "occurred_at: must not be more than 5 minutes in the future"),
    ({"content_set": "votes", "content_key": "/a", "value": 1, "occurred_at": "yesterday"}, 422, "occurred_at: "),
    ({"content_set": "votes", "content_key": "/a", "value": 1, "anonymous_id": "a b"}, 422, "anonymous_id: "),
    ({"content_set": "votes", "content_key": "/a", "value": 1, "idempotency_key": "k" * 129}, 422, "idempotency_key: "),
    ({"content_set": "unknown", "content_key": "/a", "value": 1}, 404, "no content set 'unknown'"),
    ("not json", 422, "is not valid JSON"),
    ([1, 2], 422, "request: "),
    ("", 422, "body is required"),
]


@pytest.mark.parametrize(("body", "status", "fragment"), BAD_REQUESTS)
def test_bad_input_gets_a_4xx_naming_the_field(api, ch, body, status, fragment):
    marker = f"/bad-{uuid.uuid4().hex}"
    if isinstance(body, dict) and body.get("content_key") == "/a":
        body = {**body, "content_key": marker}
    content = body if isinstance(body, str) else None
    response = api.post("/v1/signals", content=content, json=None if content is not None else body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]["message"]
    assert ch.query("SELECT count() FROM raw.feedback_events WHERE content_key = {k:String}", parameters={"k": marker}).result_rows[0][0] == 0


def test_keys_are_checked(api):
    body = {"content_set": "votes", "content_key": "/a", "value": 1}
    assert api.post("/v1/signals", json=body, headers={"X-Feelback-Key": ""}).status_code == 401
    wrong = api.post("/v1/signals", json=body, headers={"X-Feelback-Key": "fb_pk_not-a-real-key"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
