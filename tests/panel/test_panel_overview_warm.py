"""The overview warmer (ingest_api/overview_warm.py) against the real local ClickHouse and a real dbt
build of a small project of its own: overviews read before a build are read again by the warmer
once the build finishes, before anyone reads them, and the first read after the build is served
from what it cached (the same cache entries, the same live delta versions)."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from ingest_api.app import create_app
from ingest_api.routers.panel_overview import previous_period
from ingest_api.stats.queries import read_watermark
from ingest_api.stats.windows import Window, resolve
from tests.api.ingest_support import BROWSER_UA
from tests.api.stats_support import World, dbt_build, new_world, replicate_and_score
from tests.polling import eventually
from tests.pipelines.raw_events import RawEvents

TIMEZONE = "Europe/Lisbon"
SETS = {"stars": ("rating", {"value": 4, "rating_scale": 5}), "votes": ("yesno", {"value": 1})}
WINDOWS = ("7d", "30d")
SIGNALS = 24  # one every day of the last 24, alternating sets


@pytest.fixture(scope="module")
def warm_world(clickhouse_server, tmp_path_factory) -> World:
    """A project of two sets with a signal on each of the last days, replicated and scored, not built yet."""
    from warehouse.client import get_client

    sets = {key: {"signal_type": signal_type, "config": {}} for key, (signal_type, _) in SETS.items()}
    name = f"Warm overview {uuid.uuid4().hex[:4]}"
    world = new_world(tmp_path_factory.mktemp("overview-warm"), name, TIMEZONE, sets, overview_warm_seconds=0.3)
    now = dt.datetime.now(dt.UTC)
    events = RawEvents(project_id=world.project_id)
    world.days = []  # the day of each signal in the project's time zone
    for n in range(SIGNALS):
        content_set = list(SETS)[n % len(SETS)]
        signal_type, fields = SETS[content_set]
        moment = now - dt.timedelta(days=n, minutes=1)
        events.create(signal_type, moment, content_set=content_set, content_key=f"/p{n % 3}", visitor_id=f"v{n}", **fields)
        world.days.append(moment.astimezone(ZoneInfo(TIMEZONE)).date())
    ch = get_client()
    try:
        world.insert(ch, events)
        replicate_and_score(world, ch, now - dt.timedelta(days=SIGNALS + 1))
    finally:
        ch.close()
    return world


def rankings_key(app, project_id: str, window: str, watermark: dt.datetime) -> tuple:
    bounds = resolve(Window(window), TIMEZONE, app.state.stats.now())
    return ("rankings", watermark, project_id, bounds, previous_period(bounds))


def days_entries(app, watermark: dt.datetime) -> list:
    return [value for key, (_, value) in app.state.panel_days._entries.items() if key[0] == watermark]


def test_a_build_warms_the_overviews_read_before_it(warm_world, ch):
    world = warm_world
    app = create_app(world.settings)
    path = f"/v1/projects/{world.project_id}/overview"
    headers = {"Authorization": f"Bearer {world.secret_key}", "User-Agent": BROWSER_UA}
    with TestClient(app, headers=headers) as owner:
        warmer = app.state.overview_warmer
        for window in WINDOWS:
            assert owner.get(path, params={"window": window}).status_code == 200
        assert [key.window for key in warmer.recent] == list(WINDOWS)

        before = read_watermark(ch)
        first_day = (dt.datetime.now(ZoneInfo(TIMEZONE)) - dt.timedelta(days=SIGNALS + 1)).date()
        dbt_build(world, {"min_day": first_day.isoformat(), "max_day": dt.date.today().isoformat()})
        watermark = read_watermark(ch)
        assert before is None or watermark > before, "the build moves the watermark (our newest signal is the newest)"
        built = watermark.isoformat(timespec="milliseconds").replace("+00:00", "Z")

        # The warmer reads both overviews again on the new build, with no read by anyone.
        deadline = time.monotonic() + 60
        while any(seen.built_through != built for seen in warmer.recent.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert all(seen.built_through == built for seen in warmer.recent.values()), warmer.recent
        cached = {window: app.state.panel_rankings.get(rankings_key(app, world.project_id, window, watermark)) for window in WINDOWS}
        assert all(entry is not None for entry in cached.values()), "the rankings of the new build are cached"
        days = days_entries(app, watermark)
        assert len(days) == len(WINDOWS)
        trackers = {key: tracker for key, tracker in app.state.stats._deltas.items() if key[0] == world.project_id}
        assert sorted(trackers) == [(world.project_id, key) for key in sorted(SETS)]
        versions = {key: tracker.latest.version for key, tracker in trackers.items()}
        assert all(version.startswith(watermark.isoformat()) for version in versions.values()), versions

        # The first read after the build: the new build's numbers, from what the warmer cached.
        for window in WINDOWS:
            body = owner.get(path, params={"window": window}).json()
            assert body["built_through"] == built
            bounds = resolve(Window(window), TIMEZONE, dt.datetime.now(dt.UTC))
            assert body["totals"]["signals"] == sum(bounds.contains(day) for day in world.days)
            assert app.state.panel_rankings.get(rankings_key(app, world.project_id, window, watermark)) is cached[window]
        assert {id(entry) for entry in days_entries(app, watermark)} == {id(entry) for entry in days}
        assert {key: tracker.latest.version for key, tracker in trackers.items()} == versions
        assert warmer.warmed >= len(WINDOWS)
    assert app.state.overview_warmer is None  # stopped with the app


def test_the_reads_before_a_restart_are_warm_after_it(warm_world, ch):
    """A restart empties every cache: the reads of the API's last run are kept in its home and read
    again at start-up, before anyone asks, so the first read after a deploy is served warm."""
    world = warm_world
    path = f"/v1/projects/{world.project_id}/overview"
    headers = {"Authorization": f"Bearer {world.secret_key}", "User-Agent": BROWSER_UA}
    if read_watermark(ch) is None:  # (this test alone: the warmer reads on a build, any build)
        first_day = (dt.datetime.now(ZoneInfo(TIMEZONE)) - dt.timedelta(days=SIGNALS + 1)).date()
        dbt_build(world, {"min_day": first_day.isoformat(), "max_day": dt.date.today().isoformat()})
    before = create_app(world.settings)
    with TestClient(before, headers=headers) as owner:
        for window in WINDOWS:
            assert owner.get(path, params={"window": window}).status_code == 200
    saved = json.loads((world.settings.home / "api" / "overview-reads.json").read_text())
    assert {(read["project_id"], read["window"]) for read in saved} >= {(world.project_id, window) for window in WINDOWS}

    after = create_app(world.settings)
    with TestClient(after, headers=headers) as owner:
        warmer = after.state.overview_warmer
        assert {key.window for key in warmer.recent if key.project_id == world.project_id} == set(WINDOWS)
        watermark = read_watermark(ch)

        def warmed() -> dict:
            assert getattr(after.state, "panel_rankings", None) is not None, "no overview read yet"
            cached = {window: after.state.panel_rankings.get(rankings_key(after, world.project_id, window, watermark)) for window in WINDOWS}
            assert all(entry is not None for entry in cached.values()), "the warmer read both overviews after the start"
            return cached

        cached = eventually(warmed, timeout=60)
        for window in WINDOWS:
            assert owner.get(path, params={"window": window}).status_code == 200
            assert after.state.panel_rankings.get(rankings_key(after, world.project_id, window, watermark)) is cached[window]


def test_a_damaged_list_of_reads_is_skipped(tmp_path):
    from ingest_api.overview_warm import OverviewWarmer

    saved = tmp_path / "overview-reads.json"
    now = time.time()
    saved.write_text(json.dumps([
        {"project_id": "p1", "window": "7d", "content_set": None, "content_key": None, "read_at": now - 60},
        {"project_id": "p2", "window": "forever", "content_set": None, "content_key": None, "read_at": now},
        {"project_id": "p3", "window": "30d", "read_at": now},
        {"project_id": "p4", "window": "30d", "content_set": None, "content_key": None, "read_at": now - 2 * 86400},
        "not a read",
    ]))  # fmt: skip
    warmer = OverviewWarmer(app=None, seconds=30, saved=saved)
    assert warmer.load() == 1 and [key.project_id for key in warmer.recent] == ["p1"]
    saved.write_text("{not json")
    assert OverviewWarmer(app=None, seconds=30, saved=saved).load() == 0
    warmer.save()  # over the damaged file: this run's reads
    assert [read["project_id"] for read in json.loads(saved.read_text())] == ["p1"]


def test_no_warmer_when_the_setting_is_zero(warm_world):
    settings = warm_world.settings.model_copy(update={"overview_warm_seconds": 0})
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {warm_world.secret_key}", "User-Agent": BROWSER_UA}
    with TestClient(app, headers=headers) as owner:
        assert owner.get(f"/v1/projects/{warm_world.project_id}/overview").status_code == 200
        assert getattr(app.state, "overview_warmer", None) is None


def test_the_recent_reads_are_bounded_and_forgotten_after_a_day():
    from ingest_api.overview_warm import RECENT_READS, RECENT_SECONDS, OverviewWarmer

    warmer = OverviewWarmer(app=None, seconds=30)
    for n in range(RECENT_READS + 5):
        warmer.note(f"p{n}", "7d", None, None, None)
    assert len(warmer.recent) == RECENT_READS and next(iter(warmer.recent)).project_id == "p5"
    warmer.note("p5", "7d", None, None, None)  # read again: the most recent
    assert list(warmer.recent)[-1].project_id == "p5"
    next(iter(warmer.recent.values())).read_at -= RECENT_SECONDS + 1
    warmer._forget_old()
    assert len(warmer.recent) == RECENT_READS - 1 and "p6" not in {key.project_id for key in warmer.recent}
