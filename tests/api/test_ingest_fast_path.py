"""The ingest fast paths answer and store exactly what the modelled routes do.

A plain create (content set, content key, a plain value, maybe an anonymous id and an idempotency
key) skips the pydantic model, and ``POST /v1/signals`` with a cached key is served in raw ASGI.
These tests hold both to the slow path's answers, rows and refusals.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from feelback.domain import ContentSetRules
from ingest_api.app import create_app
from ingest_api.ingest.plain import PLAIN_CREATE_FIELDS, PLAIN_OPERATION_FIELDS, plain_create_rules
from ingest_api.signal_schemas import CreateSignal, operation_adapter
from ingest_api.spool import Segment, Spool
from ingest_api.writer import COLUMNS
from tests.api.ingest_support import BROWSER_UA, ORIGIN, ingest_settings, project_client, seed_project, wait_for_rows

ROW_COLUMNS = (
    "project_id, content_set, content_key, operation, signal_type, value, rating_scale, reaction, message, tags, "
    "contact_email, form_fields, visitor_id, is_bot"
)


# --- the hand-written check never lets through what the model refuses -----------------------------


class _AnySetIsCached:
    """Stands in for the ingest state: every content set asked for is cached as a yes/no set."""

    def cached_rules(self, project_id: str, set_key: str) -> ContentSetRules:
        return ContentSetRules(key=set_key, signal_type="yesno", config={})


_VALID = {
    "content_set": st.sampled_from(["votes", "v" * 40, "0-a_b"]),
    "content_key": st.sampled_from(["/a", "k" * 2048, "x"]),
    "value": st.sampled_from([None, True, 1, 2.5, "yes", "🎉"]),
    "anonymous_id": st.sampled_from([None, "visitor-1", "a" * 128, "a.b:c_d-e"]),
    "idempotency_key": st.sampled_from([None, "k", "~" * 128, "a-b"]),
}
_ANY = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.lists(st.integers(), max_size=2),
    st.text(alphabet="abcxyzAB019_-.:/~ \n\té🎉", max_size=140),
    st.sampled_from(["", "Votes", "v" * 41, "-votes", "k" * 2049, "a" * 7, "a" * 129, "~" * 129, "a b", "x\n", "2025-01-01T00:00:00Z"]),
)
_NAMES = st.sampled_from([*_VALID, "op", "message", "occurred_at", "colour"])


@settings(max_examples=800, deadline=None)
@given(st.fixed_dictionaries({}, optional=_VALID), st.dictionaries(_NAMES, _ANY, max_size=2), st.booleans())
def test_a_plain_create_is_one_the_model_accepts(valid: dict[str, Any], changed: dict[str, Any], in_batch: bool):
    data = {**valid, **changed}
    if in_batch:
        data = {**data, "op": "create"}
        fields = PLAIN_OPERATION_FIELDS
    else:
        fields = PLAIN_CREATE_FIELDS
    if plain_create_rules(_AnySetIsCached(), "project", data, fields) is None:
        return
    if in_batch:
        parsed = operation_adapter.validate_python(data)
    else:
        parsed = CreateSignal.model_validate(data)
    assert parsed.message is None and parsed.occurred_at is None


@pytest.mark.parametrize(
    ("data", "plain"),
    [
        ({"content_set": "votes", "content_key": "/a", "value": "yes"}, True),
        ({"content_set": "votes", "content_key": "/a", "value": 1, "anonymous_id": "visitor-1", "idempotency_key": "k"}, True),
        ({"content_set": "votes", "content_key": "/a"}, True),
        ({"content_set": "votes", "content_key": "/a", "value": [1]}, False),
        ({"content_set": "votes", "content_key": "", "value": 1}, False),
        ({"content_set": "votes", "content_key": "/a", "value": 1, "message": None}, False),
        ({"content_set": "votes", "content_key": "/a", "value": 1, "anonymous_id": "short"}, False),
        ({"content_set": "votes", "content_key": "/a", "value": 1, "idempotency_key": "a b"}, False),
        ({"content_set": "Votes", "content_key": "/a", "value": 1}, False),
        ({"content_set": "votes", "content_key": 7, "value": 1}, False),
    ],
)
def test_which_creates_are_plain(data, plain):
    assert (plain_create_rules(_AnySetIsCached(), "project", data) is not None) is plain


# --- against the real server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fast_settings(clickhouse_server, tmp_path_factory):
    settings = ingest_settings(tmp_path_factory.mktemp("ingest-fast-path"), spool_drain_interval_ms=100)
    return settings, seed_project(settings)


@pytest.fixture(scope="module")
def api(fast_settings):
    with project_client(*fast_settings) as client:
        client.post("/v1/signals", json={"content_set": "votes", "content_key": "/warm", "value": "yes"})  # caches the key
        client.post("/v1/batch", json={"operations": [{"op": "create", "content_set": "stars", "content_key": "/warm", "value": 1}]})
        yield client


def _rows(ch, project_id: str, keys: list[str]) -> list[tuple]:
    wait_for_rows(
        ch, "SELECT count() FROM raw.feedback_events WHERE project_id = {p:String} AND idempotency_key IN {k:Array(String)}",
        {"p": project_id, "k": keys}, len(keys),
    )  # fmt: skip
    result = ch.query(
        f"SELECT idempotency_key, {ROW_COLUMNS} FROM raw.feedback_events "
        "WHERE project_id = {p:String} AND idempotency_key IN {k:Array(String)}",
        parameters={"p": project_id, "k": keys},
    )
    by_key = {row[0]: row[1:] for row in result.result_rows}
    return [by_key[key] for key in keys]


@pytest.mark.parametrize(("content_set", "value"), [("votes", "no"), ("stars", 6), ("emoji", "🎉"), ("hearts", True)])
def test_plain_and_modelled_creates_store_the_same(api, ch, content_set, value):
    """The same create sent plain, and with a null field that sends it through the model."""
    plain = {"content_set": content_set, "content_key": "/same", "value": value, "anonymous_id": "visitor-same"}
    modelled = {**plain, "occurred_at": None}
    keys = [uuid.uuid4().hex for _ in range(4)]
    answers = [
        api.post("/v1/signals", json={**plain, "idempotency_key": keys[0]}),
        api.post("/v1/signals", json={**modelled, "idempotency_key": keys[1]}),
        api.post("/v1/batch", json={"operations": [{"op": "create", **plain, "idempotency_key": keys[2]},
                                                   {"op": "create", **modelled, "idempotency_key": keys[3]}]}),
    ]  # fmt: skip
    assert [a.status_code for a in answers] == [201, 201, 200]
    bodies = [answers[0].json(), answers[1].json(), *(r["body"] for r in answers[2].json()["results"])]
    assert [sorted(b) for b in bodies] == [["edit_token", "editable_until", "signal_id"]] * 4
    rows = _rows(ch, api.project.id, keys)
    assert rows[0] == rows[1] == rows[2] == rows[3]

    # A retry through the other path is the same request: the first answer again, nothing stored.
    replay = api.post("/v1/signals", json={**modelled, "idempotency_key": keys[0]})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == answers[0].content
    replayed = api.post("/v1/batch", json={"operations": [{"op": "create", **plain, "idempotency_key": keys[1]}]})
    assert replayed.json()["results"][0] == {"status": 201, "body": answers[1].json()}


REFUSED = [
    ({"Origin": "https://elsewhere.example"}, {"content_set": "votes", "content_key": "/r", "value": 1}, 403),
    ({}, b"{not json", 422),
    ({}, {"content_set": "votes", "content_key": "/r", "value": "maybe"}, 422),
    ({}, {"content_set": "votes", "content_key": "/r", "value": 1, "colour": "red"}, 422),
    ({}, {"content_set": "nope", "content_key": "/r", "value": 1}, 404),
    ({"Idempotency-Key": "a b"}, {"content_set": "votes", "content_key": "/r", "value": 1}, 422),
    ({}, {"content_set": "votes", "content_key": "/r", "value": 1, "padding": "x" * 1_100_000}, 413),
]


@pytest.mark.parametrize(("headers", "body", "status"), REFUSED)
def test_the_raw_create_refuses_like_the_route(api, headers, body, status):
    """A key in the query takes the route; in the header (cached) the raw ASGI path."""
    _cache_key(api)
    content = body if isinstance(body, bytes) else None
    sent = {"json": None if content else body, "content": content, "headers": {"Content-Type": "application/json", **headers}}
    raw = api.post("/v1/signals", **sent)
    routed = _keyless(api).post(f"/v1/signals?key={api.project.public_key}", **sent)
    assert raw.status_code == routed.status_code == status, (raw.text, routed.text)
    assert raw.content == routed.content
    assert _comparable(raw.headers) == _comparable(routed.headers)


def test_the_raw_create_answers_like_the_route(api):
    body = {"content_set": "thumbs", "content_key": "/ok", "value": "up"}
    _cache_key(api)
    raw = api.post("/v1/signals", json={**body, "idempotency_key": uuid.uuid4().hex}, headers={"Origin": ORIGIN})
    routed = _keyless(api).post(f"/v1/signals?key={api.project.public_key}", json={**body, "idempotency_key": uuid.uuid4().hex},
                                headers={"Origin": ORIGIN})  # fmt: skip
    assert raw.status_code == routed.status_code == 201
    assert _comparable(raw.headers) == _comparable(routed.headers)
    assert raw.headers["access-control-allow-origin"] == "*"


def _cache_key(api: TestClient) -> None:
    """Make sure the key is in the ingest cache (it expires after a few seconds), storing nothing."""
    assert api.post("/v1/signals", json={}).status_code == 422


def _keyless(api: TestClient) -> TestClient:
    """A client of the same running app that sends no key header."""
    return TestClient(api.app, headers={"User-Agent": BROWSER_UA})


def _comparable(headers) -> list[tuple[str, str]]:
    """Header names and values, without those that differ per answer."""
    return sorted((name, "" if name == "content-length" else value) for name, value in headers.multi_items() if name != "date")


def test_answers_survive_a_restart_byte_for_byte(fast_settings):
    """The map of recent answers is rebuilt from the spool: a retry after a restart gets the same bytes."""
    settings, project = fast_settings
    headers = {"X-Feelback-Key": project.public_key, "User-Agent": BROWSER_UA}
    single = {"content_set": "votes", "content_key": "/restart", "value": "yes", "idempotency_key": uuid.uuid4().hex}
    batch = {"operations": [{"op": "create", "content_set": "stars", "content_key": "/restart", "value": 2,
                             "idempotency_key": uuid.uuid4().hex}]}  # fmt: skip
    with TestClient(create_app(settings), headers=headers) as first:
        created = first.post("/v1/signals", json=single)
        batched = first.post("/v1/batch", json=batch)
    spooled = [record for lane in (settings.home / "spool").glob("lane-*") for segment in lane.rglob("*.seg")
               for record in Spool.read(Segment(segment, segment.stat().st_size))]  # fmt: skip
    assert spooled and all(set(orjson.loads(record)) == set(COLUMNS) for record in spooled)  # rows only
    with TestClient(create_app(settings), headers=headers) as second:
        again = second.post("/v1/signals", json=single)
        batched_again = second.post("/v1/batch", json=batch)
    assert again.headers["Idempotent-Replayed"] == "true" and again.content == created.content
    assert batched_again.content == batched.content


_NO_SURROGATES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)  # JSON bodies cannot carry them


@settings(max_examples=300, deadline=None)
@given(_NO_SURROGATES, _NO_SURROGATES)
def test_ids_are_the_uuid5_of_project_and_key(project_id: str, key: str):
    """Signal and event ids are a contract (a retry on any replica names the same signal)."""
    from ingest_api.ingest.caller import EVENT_NAMESPACE, SIGNAL_NAMESPACE, uuid5

    for namespace in (SIGNAL_NAMESPACE, EVENT_NAMESPACE):
        prefix = namespace.bytes + project_id.encode("utf-8") + b"\x00"
        assert uuid5(prefix, key) == str(uuid.uuid5(namespace, f"{project_id}\x00{key}"))


def test_the_raw_body_reader_refuses_like_the_route():
    """``receive_body`` over ASGI messages: chunks joined, the same 413 and 400 as ``read_body``."""
    import asyncio

    from ingest_api.ingest.bodies import receive_body
    from ingest_api.ingest.refusals import Refusal

    def receiver(*messages: dict[str, Any]):
        queue = list(messages)

        async def receive() -> dict[str, Any]:
            return queue.pop(0)

        return receive

    def chunk(body: bytes, more: bool = True) -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": more}

    async def read(receive, declared: str | None = None, limit: int = 10) -> bytes:
        return await receive_body(receive, declared, limit)

    assert asyncio.run(read(receiver(chunk(b"ab"), chunk(b""), chunk(b"cd", more=False)))) == b"abcd"
    assert asyncio.run(read(receiver(chunk(b"", more=False)))) == b""
    refusals = [
        (receiver(chunk(b"x", more=False)), "11", 413, "request body is 11 bytes; the limit is 10 bytes"),
        (receiver(chunk(b"123456"), chunk(b"789012", more=False)), None, 413, "request body is over the limit of 10 bytes"),
        (receiver(chunk(b"12"), {"type": "http.disconnect"}), None, 400, "the client went away before sending the whole body"),
    ]
    for receive, declared, status, message in refusals:
        with pytest.raises(Refusal) as refused:
            asyncio.run(read(receive, declared))
        assert (refused.value.status, refused.value.message) == (status, message)
