"""A revoke is final: the signal listing, the stats API's live delta and dbt's marts agree."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.api.stats_support import World, dbt_build, replicate_and_score
from tests.pipelines.raw_events import RawEvents
from tests.polling import DEADLINE


VOTE = {"yes": 1, "no": -1}
STEP = st.one_of(
    st.tuples(st.just("edit"), st.sampled_from(list(VOTE)), st.booleans()),  # (operation, value, sent in a batch)
    st.tuples(st.just("revoke"), st.none(), st.booleans()),
    st.tuples(st.just("retry"), st.none(), st.booleans()),  # the previous request again, same idempotency key
)
LIFECYCLE = st.tuples(st.sampled_from(list(VOTE)), st.lists(STEP, max_size=5), st.booleans())  # + a late edit elsewhere


@dataclass
class Expected:
    """What a signal must look like after its operations: live with a value, or revoked."""

    content_key: str
    value: int
    revoked: bool = False


def _send(api, method: str, path: str, body: dict, headers: dict, in_batch: bool, signal_id: str | None):
    """One operation on its own or as a batch of one: (status, body)."""
    if in_batch:
        op = {"create": "create", "PATCH": "edit", "DELETE": "revoke"}["create" if signal_id is None else method]
        operation = {"op": op, **body, **({"signal_id": signal_id} if signal_id else {})}
        if op == "revoke":
            operation["edit_token"] = headers["X-Feelback-Edit-Token"]
        result = api.post("/v1/batch", json={"operations": [operation]}).json()["results"][0]
        return result["status"], result["body"]
    response = api.request(method, path, json=body or None, headers=headers)
    return response.status_code, response.json()


def _play(api, ch, world: World, content_set: str, nonce: str, number: int, lifecycle) -> tuple[str, Expected]:
    """Create a signal and run its steps through the API, checking each answer against the model."""
    created_value, steps, late_edit = lifecycle
    content_key = f"/p-{nonce}-{number}"
    body = {"content_set": content_set, "content_key": content_key, "value": created_value,
            "anonymous_id": f"visitor-{nonce}-{number}", "idempotency_key": uuid.uuid4().hex}  # fmt: skip
    created = api.post("/v1/signals", json=body)
    assert created.status_code == 201, created.text
    signal_id, token = created.json()["signal_id"], created.json()["edit_token"]
    expected = Expected(content_key, VOTE[created_value])
    last = (("POST", "/v1/signals", body, {}, False, None), (201, created.json()))  # (request, answer) of the previous step
    for operation, value, in_batch in steps:
        time.sleep(0.002)  # received at distinct milliseconds, so the order of operations is the order sent
        if operation == "retry":
            request, answer = last
            assert _send(api, *request) == answer, (request, answer)
            continue
        if operation == "edit":
            request = ("PATCH", f"/v1/signals/{signal_id}", {"edit_token": token, "value": value, "idempotency_key": uuid.uuid4().hex}, {}, in_batch, signal_id)
        else:
            request = ("DELETE", f"/v1/signals/{signal_id}", {}, {"X-Feelback-Edit-Token": token, "Idempotency-Key": uuid.uuid4().hex}, in_batch, signal_id)
        if in_batch and operation == "revoke":
            request[2]["idempotency_key"] = request[3]["Idempotency-Key"]
        status, answer = _send(api, *request)
        if expected.revoked:
            assert (status, answer["error"]["code"]) == (409, "signal_revoked"), answer
            assert "was revoked" in answer["error"]["message"]
        else:
            assert status == 200, answer
            if operation == "edit":
                expected.value = VOTE[value]
            else:
                expected.revoked = True
        last = (request, (status, answer))
    if late_edit and expected.revoked:  # an edit another machine stored after the revoke: still revoked
        wait_for_count(ch, "SELECT count() FROM raw.feedback_events WHERE signal_id = {s:UUID} AND operation = 'revoke'", {"s": signal_id})
        late = RawEvents(world.project_id)
        late.add(uuid.UUID(signal_id), "edit", "yesno", dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=50),
                 content_set=content_set, content_key=content_key, visitor_id=f"visitor-{nonce}-{number}", value=-expected.value)  # fmt: skip
        late.insert(ch)
    return signal_id, expected


def wait_for_count(ch, sql: str, parameters: dict, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not ch.query(sql, parameters=parameters).result_rows[0][0]:
        assert time.monotonic() < deadline, sql
        time.sleep(0.05)


def _listed(api, world: World, content_set: str) -> dict[str, int]:
    secret = {"Authorization": f"Bearer {world.secret_key}"}
    page = api.get(f"/v1/projects/{world.project_id}/signals", params={"content_set": content_set, "limit": 500}, headers=secret)
    assert page.status_code == 200, page.text
    return {signal["signal_id"]: signal["value"] for signal in page.json()["signals"]}


def _counted(api, content_set: str, contents: list[str]) -> dict[str, dict]:
    counted = {}
    for start in range(0, len(contents), 100):
        batch = api.post(f"/v1/stats/{content_set}/batch", json={"contents": contents[start : start + 100], "window": "all"})
        assert batch.status_code == 200, batch.text
        counted |= {key: {k: v for k, v in body["counts"].items() if v} for key, body in batch.json()["contents"].items()}
    return counted


def _built(ch, world: World, content_set: str) -> dict[str, int]:
    rows = ch.query(
        "SELECT toString(signal_id), value FROM analytics.fct_signals WHERE project_id = {p:String} AND content_set = {s:String}",
        parameters={"p": world.project_id, "s": content_set},
    ).result_rows  # fmt: skip
    return dict(rows)


def _agree(read, want, timeout: float = DEADLINE):
    """``read()`` once it equals ``want`` (the stats refresh on their own; how soon: bench/freshness.py), else the last read."""
    deadline = time.monotonic() + timeout
    while (got := read()) != want and time.monotonic() < deadline:
        time.sleep(0.1)
    return got


def test_a_revoke_is_final_in_the_listing_the_live_delta_and_dbt(api, ch, world):
    """Random sequences of create, edit, revoke and retries (single or batched), and edits stored
    after a revoke by another machine: the API answers by the model (409 signal_revoked after a
    revoke), and the listing, the stats API's live delta and, after a real dbt build, fct_signals and
    the stats from the marts all show each signal as the model does."""
    from feelback.control_plane.db import session_scope
    from feelback.control_plane.models import ContentSet

    content_set = "revocable"
    with session_scope(world.settings) as session:
        session.add(ContentSet(project_id=world.project_id, key=content_set, signal_type="yesno", config={}, edit_window_seconds=3600))
    played: dict[str, Expected] = {}

    def live(expected: dict[str, Expected]) -> dict[str, int]:
        return {signal_id: e.value for signal_id, e in expected.items() if not e.revoked}

    def counts(expected: dict[str, Expected]) -> dict[str, dict]:
        return {e.content_key: {} if e.revoked else {"yes" if e.value == 1 else "no": 1} for e in expected.values()}

    @settings(max_examples=5, deadline=None, database=None)
    @given(st.lists(LIFECYCLE, min_size=4, max_size=8))
    def sequences(lifecycles):
        nonce = uuid.uuid4().hex[:8]
        expected = dict(_play(api, ch, world, content_set, nonce, n, lifecycle) for n, lifecycle in enumerate(lifecycles))
        played.update(expected)
        assert _agree(lambda: _listed(api, world, content_set), live(played)) == live(played)
        contents = [e.content_key for e in expected.values()]
        assert _agree(lambda: _counted(api, content_set, contents), counts(expected)) == counts(expected)

    sequences()
    replicate_and_score(world, ch, dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    dbt_build(world)
    assert _built(ch, world, content_set) == live(played)
    contents = [e.content_key for e in played.values()]
    assert _counted(api, content_set, contents) == counts(played)
    assert _listed(api, world, content_set) == live(played)
