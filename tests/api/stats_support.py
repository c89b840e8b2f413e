"""Support for the widget stats tests (tests/api/stats/): the world's project and history,
real dbt builds, and the numbers the API must show (from the marts, and from the raw rows alone)."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from feelback.settings import Settings, get_settings
from ingest_api.stats.windows import Window, WindowBounds, resolve
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


def new_world(home: Path, name: str, timezone: str, sets: dict[str, dict], **settings) -> World:
    """A project with content sets (key: ContentSet's fields) and nothing in the warehouse yet, in the
    session's control-plane DB, so that dlt replicates it (and ids never collide)."""
    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.models import ContentSet
    from feelback.control_plane.projects import create_project

    world_settings = Settings(home=home, database_url=get_settings().control_db_url, **settings)
    upgrade_control_plane(world_settings)
    with session_scope(world_settings) as session:
        created = create_project(session, name, timezone=timezone)
        for key, fields in sets.items():
            session.add(ContentSet(project_id=created.project.id, key=key, **fields))
        return World(world_settings, created.project.id, created.public_key, created.secret_key, rows=[], build_dir=home / "dbt")


@pytest.fixture(scope="package")
def world(clickhouse_server, tmp_path_factory) -> World:
    """The project of the stats tests, its random history of 120 days and one dbt build of it (once per package)."""
    from warehouse.client import get_client

    sets = {
        key: {"signal_type": signal_type, "config": config, "one_per_visitor": once, "public_stats": public}
        for key, (signal_type, config, once, public) in SETS.items()
    }
    world = new_world(tmp_path_factory.mktemp("stats"), "Stats tests", TIMEZONE, sets, spool_drain_interval_ms=100)
    now = dt.datetime.now(dt.UTC)
    ch = get_client()
    try:
        world.insert(ch, random_history(world.project_id, now))
        replicate_and_score(world, ch, now - dt.timedelta(days=121))
    finally:
        ch.close()
    first_day = (now - dt.timedelta(days=121)).date().isoformat()
    dbt_build(world, {"min_day": first_day, "max_day": now.date().isoformat()})
    return world


def unbuilt_events(ch, world: World) -> int:
    """The world's operations that no build has staged yet (bots are never staged, retries once), so
    not in the marts: a build stages the events of its batch and builds every mart from them."""
    return ch.command(
        "SELECT count() FROM raw.feedback_events WHERE project_id = {p:String} AND NOT is_bot "
        "AND idempotency_key NOT IN (SELECT idempotency_key FROM analytics_staging.stg_feedback_events WHERE project_id = {p:String})",
        parameters={"p": world.project_id},
    )


@pytest.fixture()
def built_world(world, ch) -> World:
    """The world with every event of it in the marts, as tests of "right after a build" need: other
    modules of the package add events, so when some arrived since the last build, the pipeline's steps
    run again (scores, then a catch-up dbt build). In file order nothing arrived, so nothing is built."""
    if unbuilt_events(ch, world):
        replicate_and_score(world, ch, dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        dbt_build(world)
        assert unbuilt_events(ch, world) == 0
    return world


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
