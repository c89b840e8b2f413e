"""Widget stats against the real local server and real dbt builds.

One project (Pacific/Auckland, one content set per type plus a private one) gets a random history
of the last 120 days, which one dbt build turns into marts. Then:

- the API's numbers for every set, content and window equal fct_signals' (and the rolling mart's),
  and an independent Python reading of the raw events (tests/pipelines/oracle.py);
- operations inserted after the build (a create, edits and revokes of built signals, a visitor
  voting again, a retry, a bot) are in the numbers 2 s later without a build, and a second build
  gives the marts exactly the numbers the API showed;
- auth, private sets, ETag/304, batch, top and bad input.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from feelback.settings import Settings, get_settings
from ingest_api.stats.windows import Window, resolve
from tests.api.ingest_support import BROWSER_UA
from tests.api.stats_support import (
    CONTENTS,
    PUBLIC_SETS,
    SETS,
    TIMEZONE,
    World,
    assert_api_equals_marts,
    assert_api_equals_oracle,
    dbt_build,
    random_history,
    read_everything,
    replicate_and_score,
)
from tests.pipelines import oracle
from tests.pipelines.raw_events import COLUMNS, RawEvents


@pytest.fixture(scope="module")
def world(clickhouse_server, tmp_path_factory) -> World:
    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.models import ContentSet
    from feelback.control_plane.projects import create_project
    from warehouse.client import get_client

    home = tmp_path_factory.mktemp("stats")
    # The session's control-plane DB, so that dlt replicates this project (and ids never collide).
    settings = Settings(home=home, database_url=get_settings().control_db_url, spool_drain_interval_ms=100)
    upgrade_control_plane(settings)
    with session_scope(settings) as session:
        created = create_project(session, "Stats tests", timezone=TIMEZONE)
        for key, (signal_type, config, once, public) in SETS.items():
            session.add(ContentSet(
                project_id=created.project.id, key=key, signal_type=signal_type, config=config,
                one_per_visitor=once, public_stats=public,
            ))  # fmt: skip
        ids = (created.project.id, created.public_key, created.secret_key)

    now = dt.datetime.now(dt.UTC)
    world = World(settings, *ids, rows=[], build_dir=home / "dbt")
    ch = get_client()
    try:
        world.insert(ch, random_history(world.project_id, now))
        replicate_and_score(world, ch, now - dt.timedelta(days=121))
    finally:
        ch.close()
    first_day = (now - dt.timedelta(days=121)).date().isoformat()
    dbt_build(world, {"min_day": first_day, "max_day": now.date().isoformat()})
    return world


@pytest.fixture(scope="module")
def api(world):
    from ingest_api.app import create_app

    with TestClient(create_app(world.settings), headers={"X-Feelback-Key": world.public_key, "User-Agent": BROWSER_UA}) as client:
        yield client


# --- tests ----------------------------------------------------------------------------------------


def test_windows_are_calendar_days_in_the_project_time_zone():
    # 2024-03-03 11:30 UTC is Monday 2024-03-04 00:30 in Auckland (UTC+13)
    now = dt.datetime(2024, 3, 3, 11, 30, tzinfo=dt.UTC)
    days = {w: (b.start, b.end) for w in Window for b in [resolve(w, TIMEZONE, now)]}
    d = dt.date
    assert days == {
        Window.days_7: (d(2024, 2, 27), d(2024, 3, 4)),
        Window.days_30: (d(2024, 2, 4), d(2024, 3, 4)),
        Window.days_90: (d(2023, 12, 6), d(2024, 3, 4)),
        Window.week: (d(2024, 3, 4), d(2024, 3, 10)),
        Window.month: (d(2024, 3, 1), d(2024, 3, 31)),
        Window.year: (d(2024, 1, 1), d(2024, 12, 31)),
        Window.all: (None, d(2024, 3, 4)),
    }
    assert resolve(Window.week, "UTC", now).start == d(2024, 2, 26)


def test_after_a_build_every_window_equals_the_marts(api, ch, world):
    seen = assert_api_equals_marts(api, ch, world)
    assert seen[("votes", Window.all)][None]["total"] > 20  # the history is not trivial
    assert seen[("notes", Window.all)][None]["sentiment"]["unscored"] == 0  # messages were scored

    # the rolling windows are the rolling mart's rows, built as of today
    rolling = ch.query(
        "SELECT content_set, content_key, window_days, as_of_day, signals, value_counts FROM analytics.agg_content_rolling "
        "WHERE project_id = {p:String}",
        parameters={"p": world.project_id},
    ).result_rows
    assert rolling
    window_of = {7: Window.days_7, 30: Window.days_30, 90: Window.days_90}
    today = resolve(Window.days_7, TIMEZONE, dt.datetime.now(dt.UTC)).end
    for content_set, content_key, days, as_of_day, signals, value_counts in rolling:
        # (a build just before midnight in Auckland is as of yesterday: the API then sums daily rows)
        if content_set in PUBLIC_SETS and content_key in CONTENTS and as_of_day == today:
            got = seen[(content_set, window_of[days])][content_key]
            assert (got["total"], got["counts"]) == (signals, {k: v for k, v in value_counts.items() if v})

    assert_api_equals_oracle(api, world)


def test_rolling_windows_summed_from_daily_rows_equal_the_rolling_mart(world, ch):
    """Until a build runs on a new day, the rolling mart is as of yesterday: reads then sum daily rows."""
    from ingest_api.stats.queries import MartWindow, read_contents, read_watermark

    def comparable(rows):  # (the rolling mart also has zero rows for contents quiet in a short window)
        return {key: (m.signals, m.value_counts, m.value_sum, m.positive_signals, m.negative_signals, round(m.sentiment_sum, 6))
                for key, m in rows.items() if m.signals}  # fmt: skip

    watermark = read_watermark(ch)
    for content_set in PUBLIC_SETS:
        for window in (Window.days_7, Window.days_30, Window.days_90):
            bounds = resolve(window, TIMEZONE, watermark)
            rolling = MartWindow.of(bounds, watermark)
            daily = MartWindow.of(bounds, watermark - dt.timedelta(days=1))
            assert (rolling.kind, daily.kind) == ("rolling", "daily")
            from_rolling = read_contents(ch, world.project_id, content_set, rolling, None)
            assert from_rolling, (content_set, window)
            assert comparable(read_contents(ch, world.project_id, content_set, daily, None)) == comparable(from_rolling)


def test_the_fast_path_answers_as_the_routes_do(api, world):
    """StatsFastPath (pure ASGI, before routing) and the FastAPI routes give the same status, headers
    and body (``as_of`` aside) to reads, refusals and 304s; unusual parameters go on to the routes."""
    from urllib.parse import unquote

    import httpx

    from ingest_api.app import create_app
    from ingest_api.routers.stats import StatsFastPath, parse_stats_get

    routes_only = create_app(world.settings)
    routes_only.user_middleware = [entry for entry in routes_only.user_middleware if entry.cls is not StatsFastPath]
    assert len(routes_only.user_middleware) == len(api.app.user_middleware) - 1
    plain = TestClient(routes_only, headers={"X-Feelback-Key": world.public_key, "User-Agent": BROWSER_UA})
    secret = {"Authorization": f"Bearer {world.secret_key}"}
    etag = api.get("/v1/stats/thumbs//a", params={"window": "7d"}).headers["etag"]
    cases = [  # (path, params, headers, served by the fast path)
        ("/v1/stats/votes", {}, {}, True),
        ("/v1/stats/votes", {"window": "7d"}, {}, True),
        ("/v1/stats/stars//a", {"window": "month"}, {}, True),
        ("/v1/stats/stars/%2Fb", {"window": "30d"}, {}, True),
        ("/v1/stats/thumbs//a", {"window": "7d"}, {"If-None-Match": f'"other", {etag}'}, True),
        ("/v1/stats/emoji/batch", {"content": ["/a", "/b", "/a", "/never"], "window": "90d"}, {}, True),
        ("/v1/stats/stars/top", {"by": "average", "limit": "2"}, {}, True),
        ("/v1/stats/votes/top", {"by": "average"}, {}, True),  # 422 from the service
        ("/v1/stats/internal", {}, {}, True),  # 403 private_stats
        ("/v1/stats/internal", {"window": "year"}, secret, True),
        ("/v1/stats/votes", {}, {"X-Feelback-Key": ""}, True),  # 401 missing key
        ("/v1/stats/votes", {"key": world.public_key}, {"X-Feelback-Key": ""}, True),
        ("/v1/stats/votes", {"key": world.secret_key}, {"X-Feelback-Key": ""}, True),  # 401 secret key in a URL
        ("/v1/stats/nosuchset", {}, {}, True),  # 404
        ("/v1/stats/votes//a", {}, {"Origin": "https://widgets.example"}, True),  # CORS headers
        ("/v1/stats/votes//a", {"window": "8d"}, {}, False),  # 422 naming the parameter
        ("/v1/stats/votes/top", {"limit": "010"}, {}, False),
        ("/v1/stats/votes/", {}, {}, False),
    ]
    try:
        for path, params, headers, fast in cases:
            query = str(httpx.QueryParams(params)).encode()
            assert (parse_stats_get(unquote(path), query) is not None) == fast, (path, params)
            got, want = api.get(path, params=params, headers=headers), plain.get(path, params=params, headers=headers)
            assert got.status_code == want.status_code, (path, params, got.text, want.text)
            assert got.headers.multi_items() == want.headers.multi_items(), (path, params)
            if got.status_code == 200:
                assert {**got.json(), "as_of": None} == {**want.json(), "as_of": None}, (path, params)
                assert list(got.json())[-1] == "as_of"
            else:
                assert got.content == want.content, (path, params)
        assert api.get("/v1/stats/thumbs//a", params={"window": "7d"}, headers={"If-None-Match": etag}).status_code == 304
    finally:
        plain.close()
        routes_only.state.stats.close()


def _live(world: World, content_set: str, content_key: str, **matching) -> oracle.LiveSignal:
    repeatable = {"likes"}
    for signal in oracle.live_signals(world.rows, TIMEZONE, repeatable):
        if signal.content_set == content_set and signal.content_key == content_key:
            if all(getattr(signal, name) == value for name, value in matching.items()):
                return signal
    raise AssertionError(f"no live {content_set} {content_key} signal with {matching}")


def _visitor_of(world: World, signal_id) -> str:
    return next(row[COLUMNS.index("visitor_id")] for row in world.rows if row[COLUMNS.index("signal_id")] == signal_id)


def test_operations_after_the_build_count_within_two_seconds_and_the_next_build_agrees(api, ch, world):
    before = {key: read_everything(api, key, Window.all) for key in PUBLIC_SETS}
    now = dt.datetime.now(dt.UTC)
    fresh = RawEvents(project_id=world.project_id)

    yes = _live(world, "votes", "/a", value_key="yes")  # edited to no
    fresh.add(yes.signal_id, "edit", "yesno", now, content_set="votes", content_key="/a", visitor_id=_visitor_of(world, yes.signal_id), value=-1)
    star = _live(world, "stars", "/b")  # revoked
    fresh.add(star.signal_id, "revoke", "rating", now, content_set="stars", content_key="/b", visitor_id=_visitor_of(world, star.signal_id))
    old_vote = _live(world, "votes", "/c")  # its visitor votes again: the old vote retires
    fresh.create("yesno", now, content_set="votes", content_key="/c", visitor_id=_visitor_of(world, old_vote.signal_id), value=1)
    reaction = _live(world, "emoji", "/a")  # edited to "angry"
    fresh.add(reaction.signal_id, "edit", "reaction", now, content_set="emoji", content_key="/a", visitor_id=_visitor_of(world, reaction.signal_id), reaction="angry")
    created = fresh.create("yesno", now, content_set="votes", content_key="/fresh", visitor_id="newcomer", value=1, idempotency_key="fresh-create")
    fresh.add(created, "create", "yesno", now + dt.timedelta(milliseconds=5), content_set="votes", content_key="/fresh", visitor_id="newcomer", value=1, idempotency_key="fresh-create")
    fresh.create("yesno", now, content_set="votes", content_key="/fresh", visitor_id="crawler", value=-1, is_bot=True)
    fresh.create("like", now, content_set="likes", content_key="/a", visitor_id="v1", value=1)  # likes repeat
    fresh.create("message", now, content_set="notes", content_key="/b", visitor_id="v9", message="Lovely page")
    # a late retry of a built create (same idempotency key) changes nothing
    retried = next(row for row in world.rows if row[COLUMNS.index("operation")] == "create" and row[COLUMNS.index("content_set")] == "thumbs")
    fresh.rows.append([uuid.uuid4(), *retried[1:-2], now, now])
    world.insert(ch, fresh)

    time.sleep(max(0.0, 2.0 - (dt.datetime.now(dt.UTC) - now).total_seconds()))
    after = {key: read_everything(api, key, Window.all) for key in PUBLIC_SETS}

    def counts(content_set, content_key=None):
        return before[content_set][content_key]["counts"], after[content_set][content_key]["counts"]

    was, now_ = counts("votes", "/a")
    assert (now_.get("yes", 0), now_.get("no", 0)) == (was.get("yes", 0) - 1, was.get("no", 0) + 1)
    assert after["stars"]["/b"]["total"] == before["stars"]["/b"]["total"] - 1
    assert after["votes"]["/c"]["total"] == before["votes"]["/c"]["total"]  # one replaced the other
    assert after["votes"]["/c"]["counts"].get("yes", 0) == before["votes"]["/c"]["counts"].get("yes", 0) + (old_vote.value_key == "no")
    assert after["emoji"]["/a"]["counts"].get("angry", 0) == before["emoji"]["/a"]["counts"].get("angry", 0) + (reaction.value_key != "angry")
    fresh_vote = api.get("/v1/stats/votes//fresh").json()
    assert (fresh_vote["total"], fresh_vote["counts"]) == (1, {"yes": 1, "no": 0})  # the retry and the bot are not counted
    assert after["likes"]["/a"]["total"] == before["likes"]["/a"]["total"] + 1
    assert after["notes"]["/b"]["sentiment"]["unscored"] == 1  # scored by the pipeline later
    assert after["thumbs"] == before["thumbs"]
    assert after["votes"][None]["total"] == before["votes"][None]["total"] + 1
    assert_api_equals_oracle(api, world)

    dbt_build(world)  # catches up from the watermark, like an unpartitioned run
    seen = assert_api_equals_marts(api, ch, world)
    for content_set in PUBLIC_SETS:
        assert seen[(content_set, Window.all)] == after[content_set], content_set


def test_private_sets_need_a_secret_key(api, world):
    refused = api.get("/v1/stats/internal")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "private_stats"
    assert "secret key" in refused.json()["error"]["message"]

    allowed = api.get("/v1/stats/internal", headers={"Authorization": f"Bearer {world.secret_key}"})
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["cache-control"].startswith("private")
    public = api.get("/v1/stats/votes")
    assert public.headers["cache-control"].startswith("public, max-age=1")
    assert "X-Feelback-Key" in public.headers["vary"]

    in_url = api.get("/v1/stats/votes", params={"key": world.secret_key}, headers={"X-Feelback-Key": ""})
    assert in_url.status_code == 401
    assert api.get("/v1/stats/votes", headers={"X-Feelback-Key": ""}).status_code == 401
    assert api.get("/v1/stats/votes", headers={"X-Feelback-Key": "fb_pk_unknownunknownunknown"}).status_code == 401


def test_etag_gives_304_until_the_numbers_change(api, ch, world):
    first = api.get("/v1/stats/thumbs//b", params={"window": "30d"})
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    again = api.get("/v1/stats/thumbs//b", params={"window": "30d"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag

    now = dt.datetime.now(dt.UTC)
    world.insert(ch, _one_create(world, "thumbs", "/b", now))
    time.sleep(2.0)
    changed = api.get("/v1/stats/thumbs//b", params={"window": "30d"}, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["total"] == first.json()["total"] + 1


def _one_create(world: World, content_set: str, content_key: str, moment: dt.datetime) -> RawEvents:
    events = RawEvents(project_id=world.project_id)
    events.create(SETS[content_set][0], moment, content_set=content_set, content_key=content_key, visitor_id=uuid.uuid4().hex, value=1)
    return events


def test_top_ranks_contents(api, ch, world):
    for by in ("count", "sentiment", "average"):
        response = api.get("/v1/stats/stars/top", params={"window": "all", "by": by, "limit": 2})
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        batch = api.get("/v1/stats/stars/batch", params={"content": CONTENTS}).json()["contents"]
        field = {"count": lambda s: s["total"], "sentiment": lambda s: s["sentiment"]["score"], "average": lambda s: s["average"]}[by]
        ranked = sorted(CONTENTS, key=lambda key: (-field(batch[key]), -batch[key]["total"], key))
        assert [item["content_key"] for item in items] == ranked[:2], by
        assert all({k: v for k, v in item.items() if k != "content_key"} == batch[item["content_key"]] for item in items)

    posted = api.post("/v1/stats/stars/batch", json={"contents": ["/a", "/a", "/b"], "window": "all"})
    assert posted.status_code == 200 and list(posted.json()["contents"]) == ["/a", "/b"]
    refused = api.get("/v1/stats/votes/top", params={"by": "average"})
    assert refused.status_code == 422 and refused.json()["error"]["message"].startswith("by:")


def test_signals_sent_through_the_api_show_within_two_seconds(api):
    before = api.get("/v1/stats/likes//ingested").json()["total"]
    body = {"content_set": "likes", "content_key": "/ingested", "value": True, "idempotency_key": uuid.uuid4().hex}
    sent = api.post("/v1/signals", json=body)
    assert sent.status_code == 201, sent.text
    acknowledged = time.monotonic()
    time.sleep(2.0)
    assert api.get("/v1/stats/likes//ingested").json()["total"] == before + 1
    assert time.monotonic() - acknowledged < 3.0


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/v1/stats/votes//a", {"window": "8d"}, 422, "window: must be one of 7d, 30d, 90d, all, week, month, year (got '8d')"),
        ("/v1/stats/votes/top", {"limit": "0"}, 422, "limit: "),
        ("/v1/stats/votes/top", {"by": "likes"}, 422, "by: must be one of count, sentiment, average"),
        ("/v1/stats/votes/batch", {}, 422, "content: is required"),
        ("/v1/stats/votes/batch", {"content": [f"/{n}" for n in range(101)]}, 422, "content: "),
        ("/v1/stats/nosuchset", {}, 404, "no content set 'nosuchset'"),
    ],
)
def test_bad_input_names_the_parameter(api, path, params, status, message):
    response = api.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"].startswith(message)


# --- a revoke is final: the listing, the live delta and dbt agree -----------------------------------

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


def wait_for_count(ch, sql: str, parameters: dict, timeout: float = 5.0) -> None:
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


def _agree(read, want, timeout: float = 6.0):
    """``read()`` once it equals ``want`` (the stats refresh within about two seconds), else the last read."""
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


def test_values_a_type_cannot_have_are_refused_and_never_break_the_marts(api, ch, world):
    """A rating without a value once reached raw (written around the API) and failed the dbt build
    of fct_signals (ClickHouse code 349, a NULL value_key): the API refuses such values with a 422
    naming the field, and a build given them anyway leaves them out and succeeds."""
    for content_set, value in (("stars", None), ("stars", 8), ("votes", 0), ("emoji", "unicorn"), ("likes", 0)):
        answer = api.post("/v1/signals", json={"content_set": content_set, "content_key": "/unfit", "value": value})
        assert answer.status_code == 422, (content_set, value, answer.text)
        assert answer.json()["error"]["code"] == "invalid_signal" and answer.json()["error"]["message"].startswith("value:"), answer.text

    project = f"unfit-{uuid.uuid4().hex[:8]}"
    now = dt.datetime.now(dt.UTC)
    events = RawEvents(project_id=project)
    place = {"content_set": "stars", "content_key": "/unfit"}
    kept = events.create("rating", now, **place, visitor_id="v1", value=4, rating_scale=7)
    events.add(kept, "edit", "reaction", now + dt.timedelta(seconds=1), **place, visitor_id="v1", reaction="heart")  # a kind change
    events.create("rating", now, **place, visitor_id="v2")  # no value: what the fuzz test's seed wrote
    events.create("rating", now, **place, visitor_id="v3", value=9, rating_scale=7)
    events.create("yesno", now, content_set="votes", content_key="/unfit", visitor_id="v4", value=0)
    events.create("reaction", now, content_set="emoji", content_key="/unfit", visitor_id="v5")
    events.create("like", now, content_set="likes", content_key="/unfit", visitor_id="v6")
    events.insert(ch)  # another project: the world's oracle never reads them

    dbt_build(world, {"min_day": now.date().isoformat(), "max_day": now.date().isoformat()})
    built = ch.query("SELECT signal_id, value, value_key, edits FROM analytics.fct_signals WHERE project_id = {p:String}", parameters={"p": project}).result_rows
    assert built == [(kept, 4, "4", 0)], built
