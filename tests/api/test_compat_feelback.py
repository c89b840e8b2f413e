"""The original Feelback SDKs' protocol (``/v1/compat/feelback/{public_key}/v0``) against the real API
and the local ClickHouse server: every route, the value mapping, refusals, idempotency, limits, CORS."""

from __future__ import annotations

import signal
import time
import uuid

import httpx

import pytest
from fastapi.testclient import TestClient

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import ContentSet
from ingest_api.app import create_app
from ingest_api.compat.feelback_values import REACTION_PRESETS
from ingest_api.ratelimit import IngestLimits
from tests.api.ingest_support import BROWSER_UA, ORIGIN, ApiProcess, ingest_settings, seed_project, wait_for_rows
from tests.api.test_compat_feelback_wire import browser_query
from tests.polling import DEADLINE

PRESET_SETS = {f"{name}-set": name for name in REACTION_PRESETS}
ROWS = (
    "SELECT operation, value, reaction, message, tags, contact_email, form_fields, content_set, content_key "
    "FROM raw.feedback_events WHERE project_id = {p:String} AND signal_id = {s:UUID} ORDER BY received_at, operation"
)


@pytest.fixture(scope="module")
def compat(clickhouse_server, tmp_path_factory):
    settings = ingest_settings(tmp_path_factory.mktemp("compat-feelback"), spool_drain_interval_ms=100)
    project = seed_project(settings)
    with session_scope(settings) as session:
        for key, preset in PRESET_SETS.items():
            reactions = [reaction.model_dump() for reaction in REACTION_PRESETS[preset]]
            session.add(ContentSet(project_id=project.id, key=key, signal_type="reaction", config={"reactions": reactions}))
        session.add(ContentSet(project_id=project.id, key="brief", signal_type="yesno", config={}, edit_window_seconds=3))
    with TestClient(create_app(settings), headers={"User-Agent": BROWSER_UA, "Origin": ORIGIN}) as client:
        client.project = project
        client.base = f"/v1/compat/feelback/{project.public_key}/v0/feelbacks"
        yield client


def visitor() -> dict[str, str]:
    """Headers of another visitor (the visitor id is a hash of IP and user agent)."""
    return {"User-Agent": f"{BROWSER_UA} visitor/{uuid.uuid4().hex}"}


def create(compat, content_set: str, key: str, value, headers=None, **extra):
    body = [{"contentSetId": content_set, "key": key, "value": value, **extra}]
    return compat.post(f"{compat.base}/create", json=body, headers=headers or visitor())


def rows(ch, compat, signal_id: str, expected: int) -> list[dict]:
    count, _ = wait_for_rows(
        ch, "SELECT count() FROM raw.feedback_events WHERE project_id = {p:String} AND signal_id = {s:UUID}",
        {"p": compat.project.id, "s": signal_id}, expected,
    )  # fmt: skip
    assert count == expected
    result = ch.query(ROWS, parameters={"p": compat.project.id, "s": signal_id})
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def aggregates(compat, content_set: str, key: str, expected: list[int] | None = None, timeout: float = DEADLINE):
    """getAggregates as the browser sends it; polled until it shows ``expected`` (how soon stats are
    live is bench/freshness.py's)."""
    query = browser_query({"contentSetId": content_set, "key": key}).decode()
    deadline = time.monotonic() + timeout
    while True:
        answer = compat.get(f"{compat.base}/getAggregates?{query}")
        if expected is None or answer.json() == expected or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def settle(compat, ch, content_set: str) -> None:
    """Until the set's live counts include everything stored so far: a marker vote on a content of
    its own, stored after it, is counted (the set's counts refresh as one)."""
    marker = f"/marker/{uuid.uuid4().hex}"
    rows(ch, compat, create(compat, content_set, marker, "+1").json()["feelbackId"], 1)
    assert aggregates(compat, content_set, marker, [1, 0]).json() == [1, 0]


def test_create_edit_remove_as_the_sdk_does(compat, ch):
    me = visitor()
    created = create(compat, "votes", "/guide", "+1", headers=me)
    assert created.status_code == 200, created.text
    answer = created.json()
    signal_id, token = answer["feelbackId"], answer["revokable"]["token"]
    assert answer["revokable"]["expireAt"].endswith("Z") and token.endswith("~0")

    edited = compat.post(f"{compat.base}/edit", json=[{"feelbackId": signal_id, "revokeToken": token, "value": "n"}], headers=me)
    assert edited.status_code == 200, edited.text
    assert edited.json()["feelbackId"] == signal_id and edited.json()["revokable"]["token"].endswith("~1")

    removed = compat.post(
        f"{compat.base}/remove", json=[{"feelbackId": signal_id, "revokeToken": edited.json()["revokable"]["token"]}], headers=me
    )
    assert removed.status_code == 204 and removed.content == b""

    stored = rows(ch, compat, signal_id, 3)
    assert [(row["operation"], row["value"]) for row in stored] == [("create", 1), ("edit", -1), ("revoke", None)]
    assert stored[0]["content_set"] == "votes" and stored[0]["content_key"] == "/guide"


VALUES = [
    # content set, SDK value, context, stored (value, reaction, message, tags, contact_email, form_fields)
    ("votes", "y", None, (1, "", "", [], "", {})),
    ("votes", "-1", None, (-1, "", "", [], "", {})),
    ("thumbs", "+1", None, (1, "", "", [], "", {})),
    ("thumbs", "n", None, (-1, "", "", [], "", {})),
    ("hearts", "+", None, (1, "", "", [], "", {})),
    ("stars", "6", None, (6, "", "", [], "", {})),
    ("emoji", "+1", None, (None, "thumbs_up", "", [], "", {})),
    ("emoji", "hooray", None, (None, "tada", "", [], "", {})),
    ("emoji", "laugh", None, (None, "smile", "", [], "", {})),
    ("emoji", "sad", None, (None, "cry", "", [], "", {})),
    ("github-set", "-1", None, (None, "thumbs_down", "", [], "", {})),
    ("github-set", "rocket", None, (None, "rocket", "", [], "", {})),
    ("facebook-set", "wow", None, (None, "wow", "", [], "", {})),
    ("facebook-set", "angry", None, (None, "angry", "", [], "", {})),
    ("feeling-set", "neutral", None, (None, "neutral", "", [], "", {})),
    ("evaluation-set", "hate", None, (None, "hate", "", [], "", {})),
    ("feedback", "Great page", {"$user": "ann@example.com"}, (None, "", "Great page", [], "ann@example.com", {})),
    ("feedback", {"tag": "error", "message": "Step 2 fails"}, None, (None, "", "Step 2 fails", ["bug"], "", {})),
    ("feedback", {"tag": "idea", "message": "More"}, {"section": "install", "x": 1}, (None, "", "More", ["idea"], "", {"section": "install"})),
]


@pytest.mark.parametrize(("content_set", "value", "context", "stored"), VALUES, ids=[f"{v[0]}:{v[1]}" for v in VALUES])
def test_sdk_values_are_stored_as_ours(compat, ch, content_set, value, context, stored):
    extra = {"context": context} if context else {}
    created = create(compat, content_set, "/values", value, **extra)
    assert created.status_code == 200, created.text
    (row,) = rows(ch, compat, created.json()["feelbackId"], 1)
    assert (row["value"], row["reaction"], row["message"], row["tags"], row["contact_email"], row["form_fields"]) == stored


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ([{"contentSetId": "votes", "key": "/x", "value": "maybe"}], 422, "yes/no must be"),
        ([{"contentSetId": "emoji", "key": "/x", "value": "rocket"}], 422, "reaction must be one of"),
        ([{"contentSetId": "feedback", "key": "/x", "value": {"tag": "nope", "message": "x"}}], 422, "allowed tags"),
        ([{"contentSetId": "feedback", "key": "/x", "value": "hi", "context": {"$user": "not-an-email"}}], 422, "e-mail"),
        ([{"contentSetId": "feedback", "key": "/x", "value": {"tag": "idea"}}], 422, "a tag alone"),
        ([{"contentSetId": "nosuchset", "key": "/x", "value": "y"}], 404, "nosuchset"),
        ([{"contentSetId": "votes", "value": "y"}], 422, "key"),
        ([{"contentId": "abc", "value": "y"}], 422, "contentId"),
        ({"contentSetId": "votes", "key": "/x", "value": "y"}, 422, "JSON array"),
        ("not json", 422, "JSON"),
    ],
)
def test_bad_creates_get_a_4xx_naming_the_problem(compat, body, status, fragment):
    if isinstance(body, str):
        answer = compat.post(f"{compat.base}/create", content=body, headers={"content-type": "application/json", **visitor()})
    else:
        answer = compat.post(f"{compat.base}/create", json=body, headers=visitor())
    assert answer.status_code == status, answer.text
    assert fragment in answer.json()["error"]["message"]


def test_keys_origins_and_tokens_are_checked(compat):
    body = [{"contentSetId": "votes", "key": "/x", "value": "y"}]
    unknown = compat.post("/v1/compat/feelback/fb_pk_unknown/v0/feelbacks/create", json=body)
    assert unknown.status_code == 401
    secret = compat.post(f"/v1/compat/feelback/{compat.project.secret_key}/v0/feelbacks/create", json=body)
    assert secret.status_code == 401 and "URL" in secret.json()["error"]["message"]
    denied = compat.post(f"{compat.base}/create", json=body, headers={"Origin": "https://evil.example"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "origin_not_allowed"

    first, other = create(compat, "votes", "/tokens", "y").json(), create(compat, "votes", "/tokens", "y").json()
    foreign = [{"feelbackId": first["feelbackId"], "revokeToken": other["revokable"]["token"], "value": "n"}]
    assert compat.post(f"{compat.base}/edit", json=foreign).status_code == 403
    assert compat.post(f"{compat.base}/remove", json=foreign).status_code == 403
    bad_id = [{"feelbackId": "nope", "revokeToken": first["revokable"]["token"]}]
    assert compat.post(f"{compat.base}/remove", json=bad_id).status_code == 422


def test_revokable_is_left_out_when_not_asked_for_or_not_allowed(compat):
    assert "revokable" not in create(compat, "votes", "/plain", "y", revokable=False).json()
    final = create(compat, "final", "/plain", 4)
    assert final.status_code == 200 and set(final.json()) == {"feelbackId"}


def test_an_edit_after_the_window_is_refused_but_a_resend_of_an_earlier_one_answered(compat):
    me = visitor()
    created = create(compat, "brief", "/window", "y", headers=me).json()
    edit = [{"feelbackId": created["feelbackId"], "revokeToken": created["revokable"]["token"], "value": "n"}]
    first = compat.post(f"{compat.base}/edit", json=edit, headers=me)
    assert first.status_code == 200, first.text
    time.sleep(3.1)
    resent = compat.post(f"{compat.base}/edit", json=edit, headers=me)
    assert resent.status_code == 200 and resent.headers.get("Idempotent-Replayed") == "true"
    late = compat.post(f"{compat.base}/edit", json=[{**edit[0], "value": "y"}], headers=me)
    assert late.status_code == 409 and late.json()["error"]["code"] == "signal_final"


def test_resent_edits_and_removes_are_stored_once(compat, ch):
    me = visitor()
    created = create(compat, "thumbs", "/resend", "+1", headers=me).json()
    signal_id, token = created["feelbackId"], created["revokable"]["token"]
    edit = [{"feelbackId": signal_id, "revokeToken": token, "value": "-1"}]
    first, again = (compat.post(f"{compat.base}/edit", json=edit, headers=me) for _ in range(2))
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    # The next click carries the next token: a new edit, even back to an earlier value.
    back = [{"feelbackId": signal_id, "revokeToken": first.json()["revokable"]["token"], "value": "+1"}]
    assert compat.post(f"{compat.base}/edit", json=back, headers=me).status_code == 200
    remove = [{"feelbackId": signal_id, "revokeToken": token}]
    removed = [compat.post(f"{compat.base}/remove", json=remove, headers=me) for _ in range(2)]
    assert [answer.status_code for answer in removed] == [204, 204]
    assert removed[1].headers.get("Idempotent-Replayed") == "true"
    time.sleep(0.4)
    stored = rows(ch, compat, signal_id, 4)
    assert [(row["operation"], row["value"]) for row in stored] == [("create", 1), ("edit", -1), ("edit", 1), ("revoke", None)]


def test_get_aggregates_counts_in_button_order(compat):
    key = f"https://docs.example.com/agg/{uuid.uuid4().hex}?q=a+b&lang=en"
    for value in ("y", "+1", "n"):
        assert create(compat, "votes", key, value).status_code == 200
    assert aggregates(compat, "votes", key, [2, 1]).json() == [2, 1]

    for value in ("eyes", "+1", "+1", "rocket"):
        assert create(compat, "github-set", key, value).status_code == 200
    answer = aggregates(compat, "github-set", key, [2, 0, 0, 0, 0, 0, 1, 1])
    assert answer.status_code == 200 and answer.json() == [2, 0, 0, 0, 0, 0, 1, 1]

    assert create(compat, "hearts", key, "+").status_code == 200
    assert aggregates(compat, "hearts", key, [1]).json() == [1]
    assert aggregates(compat, "feedback", key).json() == []


@pytest.mark.parametrize("key", ["café/日本 'quoted' \"twice\"", "https://docs.example.com/caf%C3%A9?x=%20y"])
def test_get_aggregates_reads_keys_the_browser_escaped(compat, key):
    key = f"{key}/{uuid.uuid4().hex}"
    assert create(compat, "thumbs", key, "n").status_code == 200
    assert aggregates(compat, "thumbs", key, [0, 1]).json() == [0, 1]


def test_get_aggregates_edge_cases(compat):
    cut = browser_query({"contentSetId": "votes", "key": "/page#section"}).decode()
    assert compat.get(f"{compat.base}/getAggregates?{cut}").json() == []
    missing = compat.get(f"{compat.base}/getAggregates")
    assert missing.status_code == 422 and "$p" in missing.json()["error"]["message"]
    unknown = aggregates(compat, "nosuchset", "/x")
    assert unknown.status_code == 404
    whole = browser_query({"contentSetId": "votes", "key": "/x"}).decode()
    assert compat.get(f"/v1/compat/feelback/fb_pk_unknown/v0/feelbacks/getAggregates?{whole}").status_code == 401


def test_a_content_id_targets_its_set_and_key(compat, ch):
    key = f"/by-id/{uuid.uuid4().hex}?q=a+b"
    me = visitor()
    created = compat.post(f"{compat.base}/create", json=[{"contentId": f"votes:{key}", "value": "n"}], headers=me)
    assert created.status_code == 200, created.text
    (row,) = rows(ch, compat, created.json()["feelbackId"], 1)
    assert (row["content_set"], row["content_key"], row["value"]) == ("votes", key, -1)
    by_id = browser_query(f"votes:{key}").decode()
    deadline = time.monotonic() + 20
    while compat.get(f"{compat.base}/getAggregates?{by_id}").json() != [0, 1] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert compat.get(f"{compat.base}/getAggregates?{by_id}").json() == [0, 1]
    assert aggregates(compat, "votes", key).json() == [0, 1], "the same content as set and key"

    hosted = compat.post(f"{compat.base}/create", json=[{"contentId": "0f8fe2a6-3b7c-4c1e-9d1a-8f0e2b7c5d11", "value": "y"}])
    assert hosted.status_code == 422 and "hosted Feelback" in hosted.json()["error"]["message"]
    unknown = compat.post(f"{compat.base}/create", json=[{"contentId": "nosuchset:/x", "value": "y"}])
    assert unknown.status_code == 404 and "nosuchset" in unknown.json()["error"]["message"]
    refused = compat.get(f"{compat.base}/getAggregates?{browser_query('0f8fe2a6').decode()}")
    assert refused.status_code == 422 and "contentId" in refused.json()["error"]["message"]


def test_cross_site_json_posts_pass_the_preflight(compat):
    preflight = compat.options(
        f"{compat.base}/create",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", ORIGIN)
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"].lower()
    created = create(compat, "votes", "/cors", "y")
    assert created.headers["access-control-allow-origin"] in ("*", ORIGIN)


def test_rate_limits_apply(compat):
    ingest = compat.app.state.signal_ingest
    saved = ingest.limits
    ingest.limits = IngestLimits(visitor_per_minute=2, project_per_second=1000)
    try:
        me = visitor()
        statuses = [create(compat, "hearts", "/limited", "+", headers=me).status_code for _ in range(3)]
        limited = create(compat, "hearts", "/limited", "+", headers=me)
    finally:
        ingest.limits = saved
    assert statuses == [200, 200, 429]
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_counts_follow_a_visitors_create_edit_undo_and_new_vote(compat):
    me, key = visitor(), f"/undo/{uuid.uuid4().hex}"
    first = create(compat, "votes", key, "+1", headers=me).json()
    edited = compat.post(f"{compat.base}/edit", json=[{"feelbackId": first["feelbackId"], "revokeToken": first["revokable"]["token"], "value": "-1"}], headers=me)
    assert aggregates(compat, "votes", key, [0, 1]).json() == [0, 1]
    remove = [{"feelbackId": first["feelbackId"], "revokeToken": edited.json()["revokable"]["token"]}]
    assert compat.post(f"{compat.base}/remove", json=remove, headers=me).status_code == 204
    assert aggregates(compat, "votes", key, [0, 0]).json() == [0, 0]
    assert create(compat, "votes", key, "+1", headers=me).status_code == 200
    assert aggregates(compat, "votes", key, [1, 0]).json() == [1, 0]



def test_a_resent_create_is_stored_again_and_a_one_per_visitor_set_counts_it_once(compat, ch):
    """The SDK sends no idempotency key and never retries, but a browser resends a POST whose reused
    connection closed before any answer (Chromium does), byte for byte, and the page sees only the
    second answer. Nothing in it tells it from the visitor's next create of the same value, so it is
    stored again (README). In a one-per-visitor set only the visitor's newest signal counts, and
    undoing it, the one the SDK holds, leaves none; a message set keeps the message twice."""
    me, key = visitor(), f"/resent/{uuid.uuid4().hex}"
    lost, held = (create(compat, "votes", key, "+1", headers=me).json() for _ in range(2))
    assert lost["feelbackId"] != held["feelbackId"]
    for signal_id in (lost["feelbackId"], held["feelbackId"]):
        rows(ch, compat, signal_id, 1)
    settle(compat, ch, "votes")  # both in the live counts by now
    assert aggregates(compat, "votes", key).json() == [1, 0]
    remove = [{"feelbackId": held["feelbackId"], "revokeToken": held["revokable"]["token"]}]
    assert compat.post(f"{compat.base}/remove", json=remove, headers=me).status_code == 204
    assert aggregates(compat, "votes", key, [0, 0]).json() == [0, 0]
    settle(compat, ch, "votes")
    assert aggregates(compat, "votes", key).json() == [0, 0], "the older copy does not come back"

    messages = [create(compat, "feedback", key, "Step 2 fails", headers=me).json()["feelbackId"] for _ in range(2)]
    assert [row["message"] for signal_id in messages for row in rows(ch, compat, signal_id, 1)] == ["Step 2 fails"] * 2


def test_body_over_the_limit_is_413(compat):
    huge = [{"contentSetId": "feedback", "key": "/x", "value": "x" * (1024 * 1024)}]
    answer = compat.post(f"{compat.base}/create", json=huge, headers=visitor())
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "body_too_large"


def test_acknowledged_operations_survive_sigkill_and_resends_after_it_are_recognised(clickhouse_server, ch, tmp_path):
    settings = ingest_settings(tmp_path / "home")
    project = seed_project(settings)
    base = f"/v1/compat/feelback/{project.public_key}/v0/feelbacks"
    headers = {"User-Agent": BROWSER_UA, "Origin": ORIGIN}
    # A drain interval longer than the test: every acknowledged operation is only in the spool when killed.
    api = ApiProcess(settings, clickhouse_server.url, FEELBACK_SPOOL_DRAIN_INTERVAL_MS="600000").start()
    try:
        with httpx.Client(base_url=api.url, headers=headers) as client:
            created = client.post(f"{base}/create", json=[{"contentSetId": "votes", "key": "/durable", "value": "y"}]).json()
            edit = [{"feelbackId": created["feelbackId"], "revokeToken": created["revokable"]["token"], "value": "n"}]
            edited = client.post(f"{base}/edit", json=edit)
            remove = [{"feelbackId": created["feelbackId"], "revokeToken": edited.json()["revokable"]["token"]}]
            removed = client.post(f"{base}/remove", json=remove)
    finally:
        api.kill(signal.SIGKILL)
    assert edited.status_code == 200 and removed.status_code == 204
    count_sql = "SELECT count() FROM raw.feedback_events WHERE project_id = {p:String} AND signal_id = {s:UUID}"
    parameters = {"p": project.id, "s": created["feelbackId"]}
    assert ch.query(count_sql, parameters=parameters).result_rows[0][0] == 0

    restarted = ApiProcess(settings, clickhouse_server.url, FEELBACK_SPOOL_DRAIN_INTERVAL_MS="100").start()
    try:
        count, _ = wait_for_rows(ch, count_sql, parameters, 3)
        assert count == 3
        with httpx.Client(base_url=restarted.url, headers=headers) as client:
            edited_again, removed_again = client.post(f"{base}/edit", json=edit), client.post(f"{base}/remove", json=remove)
        assert edited_again.json() == edited.json() and edited_again.headers.get("Idempotent-Replayed") == "true"
        assert removed_again.status_code == 204 and removed_again.headers.get("Idempotent-Replayed") == "true"
        time.sleep(0.5)
        assert ch.query(count_sql, parameters=parameters).result_rows[0][0] == 3
    finally:
        restarted.kill(signal.SIGTERM)
