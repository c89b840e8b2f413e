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
import json
import os
import random
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feelback.settings import Settings, get_settings
from ingest_api.stats.windows import Window, WindowBounds, resolve
from tests.api.ingest_support import BROWSER_UA
from tests.pipelines import oracle
from tests.pipelines.raw_events import COLUMNS, RawEvents

TIMEZONE = "Pacific/Auckland"
REACTIONS = [
    {"key": "heart", "emoji": "❤️", "polarity": 1},
    {"key": "meh", "emoji": "😐", "polarity": 0},
    {"key": "angry", "emoji": "😠", "polarity": -1},
]
# key: (signal type, config, one per visitor, public stats)
SETS = {
    "votes": ("yesno", {}, True, True),
    "thumbs": ("updown", {}, True, True),
    "stars": ("rating", {"scale": 7}, True, True),
    "likes": ("like", {}, False, True),
    "emoji": ("reaction", {"reactions": REACTIONS}, True, True),
    "notes": ("message", {}, False, True),
    "internal": ("yesno", {}, True, False),
}
PUBLIC_SETS = [key for key, (*_, public) in SETS.items() if public]
CONTENTS = ["/a", "/b", "/c"]
WINDOWS = list(Window)
TEXTS = ["great docs, thanks", "this is broken and awful", "ok", "I love it", "confusing and slow"]


# --- the world: a project, its history, builds ----------------------------------------------------


@dataclass
class World:
    settings: Settings
    project_id: str
    public_key: str
    secret_key: str
    rows: list[list]
    build_dir: Path

    def insert(self, ch, events: RawEvents) -> None:
        self.rows += events.rows
        events.insert(ch)


def _value(rng: random.Random, signal_type: str) -> dict:
    if signal_type in ("yesno", "updown"):
        return {"value": rng.choice([1, -1])}
    if signal_type == "rating":
        return {"value": rng.randint(1, 7), "rating_scale": 7}
    if signal_type == "like":
        return {"value": 1}
    if signal_type == "reaction":
        return {"reaction": rng.choice([r["key"] for r in REACTIONS])}
    return {"message": rng.choice(TEXTS)}


def random_history(project_id: str, now: dt.datetime, operations: int = 1500, seed: int = 5) -> RawEvents:
    """Creates, edits, revokes, retries and bots over the 120 days before ``now``, oldest first."""
    rng = random.Random(seed)
    events = RawEvents(project_id=project_id)
    created: list[tuple[uuid.UUID, str, str, str, str]] = []
    span = dt.timedelta(days=120) - dt.timedelta(minutes=5)
    for n in range(operations):
        moment = now - dt.timedelta(days=120) + span * (n / operations) + dt.timedelta(seconds=rng.randint(0, 60))
        if rng.random() < 0.65 or not created:
            content_set = rng.choice(list(SETS))
            signal_type = SETS[content_set][0]
            place = {"content_set": content_set, "content_key": rng.choice(CONTENTS), "visitor_id": f"v{rng.randint(1, 8)}"}
            key = uuid.uuid4().hex
            signal_id = events.create(signal_type, moment, idempotency_key=key, is_bot=rng.random() < 0.05, **place, **_value(rng, signal_type))
            created.append((signal_id, signal_type, place["content_set"], place["content_key"], place["visitor_id"]))
            if rng.random() < 0.1:  # a retry: same key, later copy
                events.add(signal_id, "create", signal_type, moment + dt.timedelta(seconds=2), idempotency_key=key, **place, **_value(rng, signal_type))
        else:
            signal_id, signal_type, content_set, content_key, visitor = rng.choice(created)
            operation = "revoke" if rng.random() < 0.3 or signal_type == "like" else "edit"
            values = _value(rng, signal_type) if operation == "edit" else {}
            events.add(signal_id, operation, signal_type, moment, content_set=content_set, content_key=content_key, visitor_id=visitor, **values)
    return events


def dbt_build(world: World, variables: dict | None = None) -> None:
    """A real ``dbt build`` of dbt_project/ (models and seeds; its data tests run in tests/pipelines)."""
    import pipelines.definitions  # noqa: F401  (imports the code location in its own order)
    from pipelines.dbt_env import dbt_env
    from pipelines.defs.dbt.project import DBT_EXECUTABLE, DBT_PROJECT_DIR

    command = [
        DBT_EXECUTABLE, "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(world.build_dir / "target"), "--log-path", str(world.build_dir / "logs"),
        "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
        "--vars", json.dumps(variables or {}),
    ]  # fmt: skip
    env = {**os.environ, **dbt_env(world.settings.clickhouse)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-4000:]


def replicate_and_score(world: World, ch, since: dt.datetime) -> None:
    """What the Dagster job does before dbt: the control plane into raw_app (dlt), VADER scores."""
    import pipelines.definitions  # noqa: F401
    from pipelines.defs.dlt.control_plane import control_plane_pipeline, control_plane_source
    from pipelines.defs.sentiment.scoring import score_messages

    ch.command("CREATE DATABASE IF NOT EXISTS raw_app")
    control_plane_pipeline(world.settings).run(control_plane_source(world.settings.control_db_url))
    score_messages(ch, since, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))


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


# --- expectations -----------------------------------------------------------------------------------


def numbers(measures: dict, signal_type: str) -> dict:
    """The API's stats fields from summed measures."""
    return {
        "total": measures["total"],
        "counts": {key: count for key, count in measures["counts"].items() if count},
        "average": measures["value_sum"] / measures["valued"] if signal_type == "rating" and measures["valued"] else None,
        "sentiment": {
            "positive": measures["positive"],
            "neutral": measures["neutral"],
            "negative": measures["negative"],
            "unscored": measures["total"] - measures["scored"],
            "score": measures["sentiment_sum"] / measures["scored"] if measures["scored"] else None,
        },
    }


def fct_numbers(ch, project_id: str, content_set: str, bounds: WindowBounds) -> dict[str | None, dict]:
    """Per content, and for the whole set (key None), from the signals of fct_signals in the window."""
    in_window = "1" if bounds.start is None else "day BETWEEN {start:Date} AND {end:Date}"
    rows = ch.query(
        f"""
        SELECT content_key, toUInt64(count()) AS total, sumMapIf(map(value_key, toUInt64(1)), value_key != '') AS counts,
               countIf(value IS NOT NULL) AS valued, toInt64(sum(coalesce(value, 0))) AS value_sum,
               countIf(sentiment_label = 'positive') AS positive, countIf(sentiment_label = 'neutral') AS neutral,
               countIf(sentiment_label = 'negative') AS negative, countIf(sentiment IS NOT NULL) AS scored,
               toFloat64(sum(coalesce(sentiment, 0))) AS sentiment_sum
        FROM analytics.fct_signals
        WHERE project_id = {{p:String}} AND content_set = {{s:String}} AND {in_window}
        GROUP BY content_key
        """,
        parameters={"p": project_id, "s": content_set, "start": bounds.start, "end": bounds.end},
    ).named_results()
    by_content = {row.pop("content_key"): row for row in rows}
    whole = {"total": 0, "counts": {}, "valued": 0, "value_sum": 0, "positive": 0, "neutral": 0, "negative": 0, "scored": 0, "sentiment_sum": 0.0}
    for row in by_content.values():
        for name, value in row.items():
            if name == "counts":
                for key, count in value.items():
                    whole["counts"][key] = whole["counts"].get(key, 0) + count
            else:
                whole[name] += value
    signal_type = SETS[content_set][0]
    return {None: numbers(whole, signal_type), **{key: numbers(row, signal_type) for key, row in by_content.items()}}


def oracle_numbers(world: World, content_set: str, bounds: WindowBounds) -> dict[str, dict]:
    """Totals, counts and averages per content from the raw rows alone, by the signal rules."""
    repeatable = {key for key, (signal_type, _, once, _) in SETS.items() if not once and signal_type != "message"}
    rows = [row for row in world.rows if row[COLUMNS.index("content_set")] == content_set]
    result: dict[str, dict] = {}
    for signal in oracle.live_signals(rows, TIMEZONE, repeatable):
        if bounds.contains(signal.day):
            entry = result.setdefault(signal.content_key, {"total": 0, "counts": {}, "value_sum": 0, "valued": 0})
            entry["total"] += 1
            if signal.value_key:
                entry["counts"][signal.value_key] = entry["counts"].get(signal.value_key, 0) + 1
            entry["value_sum"] += signal.value or 0
            entry["valued"] += signal.value is not None
    return result


def shown(body: dict) -> dict:
    """The numbers of a stats body, zero counts left out, floats rounded for comparison."""
    sentiment = dict(body["sentiment"])
    sentiment["score"] = None if sentiment["score"] is None else round(sentiment["score"], 9)
    return {
        "total": body["total"],
        "counts": {key: count for key, count in body["counts"].items() if count},
        "average": None if body["average"] is None else round(body["average"], 9),
        "sentiment": sentiment,
    }


def read_everything(api, content_set: str, window: Window) -> dict[str | None, dict]:
    """The API's numbers for the set (key None) and each content, read by batch and one by one."""
    whole = api.get(f"/v1/stats/{content_set}", params={"window": window.value})
    assert whole.status_code == 200, whole.text
    batch = api.get(f"/v1/stats/{content_set}/batch", params={"window": window.value, "content": [*CONTENTS, "/never"]})
    assert batch.status_code == 200, batch.text
    result = {None: shown(whole.json()), **{key: shown(body) for key, body in batch.json()["contents"].items()}}
    single = api.get(f"/v1/stats/{content_set}//a", params={"window": window.value})
    assert single.status_code == 200 and single.json()["content_key"] == "/a"
    assert shown(single.json()) == result["/a"]
    return result


EMPTY = {"total": 0, "counts": {}, "average": None, "sentiment": {"positive": 0, "neutral": 0, "negative": 0, "unscored": 0, "score": None}}


def expected_everything(ch, world: World, content_set: str, window: Window) -> dict[str | None, dict]:
    bounds = resolve(window, TIMEZONE, dt.datetime.now(dt.UTC))
    from_fct = fct_numbers(ch, world.project_id, content_set, bounds)
    return {None: shown(from_fct[None]), **{key: shown(from_fct.get(key, EMPTY)) for key in [*CONTENTS, "/never"]}}


def assert_api_equals_marts(api, ch, world: World) -> dict:
    seen = {}
    for content_set in PUBLIC_SETS:
        for window in WINDOWS:
            got = read_everything(api, content_set, window)
            assert got == expected_everything(ch, world, content_set, window), (content_set, window)
            seen[(content_set, window)] = got
    return seen


def assert_api_equals_oracle(api, world: World) -> None:
    for content_set in PUBLIC_SETS:
        for window in (Window.days_7, Window.month, Window.all):
            bounds = resolve(window, TIMEZONE, dt.datetime.now(dt.UTC))
            expected = oracle_numbers(world, content_set, bounds)
            batch = api.get(f"/v1/stats/{content_set}/batch", params={"window": window.value, "content": CONTENTS}).json()
            for content in CONTENTS:
                got = batch["contents"][content]
                want = expected.get(content, {"total": 0, "counts": {}, "value_sum": 0, "valued": 0})
                assert (got["total"], {k: v for k, v in got["counts"].items() if v}) == (want["total"], want["counts"]), (content_set, window, content)
                if content_set == "stars" and want["valued"]:
                    assert got["average"] == pytest.approx(want["value_sum"] / want["valued"])


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
