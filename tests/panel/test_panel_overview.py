"""GET /v1/projects/{id}/overview against a real dbt build (the stats tests' world): every set's
numbers equal the stats API's, the previous period and the days equal fct_signals', the rankings
equal the stats API's top, and operations after the build show (how soon: bench/freshness.py)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from fastapi.testclient import TestClient

from ingest_api.app import create_app
from ingest_api.routers.panel_overview import previous_period
from ingest_api.stats.measures import Measures
from ingest_api.stats.windows import Window, resolve
from tests.api.ingest_support import BROWSER_UA
from tests.api.stats_support import SETS, TIMEZONE, fct_numbers, shown
from tests.api.stats_support import world  # noqa: F401  (a fixture: the built project)
from tests.pipelines.raw_events import RawEvents
from tests.polling import eventually

WINDOWS = ["7d", "30d", "90d", "week", "month", "year"]


@pytest.fixture(scope="module")
def owner(world):
    """A client of the project's owner (its secret key)."""
    headers = {"Authorization": f"Bearer {world.secret_key}", "User-Agent": BROWSER_UA}
    with TestClient(create_app(world.settings), headers=headers) as client:
        yield client


def read_overview(owner, world, **params) -> dict:
    response = owner.get(f"/v1/projects/{world.project_id}/overview", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def fct_days(ch, project_id: str, start: dt.date, end: dt.date) -> dict[str, dict]:
    rows = ch.query(
        """
        SELECT toString(day) AS on_day, countIf(sentiment_label = 'positive') AS positive,
               countIf(sentiment_label = 'neutral') AS neutral, countIf(sentiment_label = 'negative') AS negative,
               countIf(sentiment IS NULL) AS unscored
        FROM analytics.fct_signals
        WHERE project_id = {p:String} AND day BETWEEN {start:Date} AND {end:Date}
        GROUP BY day
        """,
        parameters={"p": project_id, "start": start, "end": end},
    ).named_results()
    return {row.pop("on_day"): row for row in rows}



def test_previous_periods():
    now = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)
    assert previous_period(resolve(Window.days_7, "UTC", now)).start == dt.date(2026, 3, 2)
    assert previous_period(resolve(Window.days_7, "UTC", now)).end == dt.date(2026, 3, 8)
    month = previous_period(resolve(Window.month, "UTC", now))
    assert (month.start, month.end) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    year = previous_period(resolve(Window.year, "UTC", now))
    assert (year.start, year.end) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    week = previous_period(resolve(Window.week, "UTC", now))  # Sunday 15 March: the week began Monday 9
    assert (week.start, week.end) == (dt.date(2026, 3, 2), dt.date(2026, 3, 8))


def test_every_window_equals_the_stats_api_and_the_marts(owner, ch, world):
    for window in WINDOWS:
        body = read_overview(owner, world, window=window)
        bounds = resolve(Window(window), TIMEZONE, dt.datetime.now(dt.UTC))
        before = previous_period(bounds)
        assert body["window"]["start"] == bounds.start.isoformat()
        assert body["previous"] == {"start": before.start.isoformat(), "end": before.end.isoformat()}
        assert [entry["content_set"] for entry in body["sets"]] == sorted(SETS)
        for entry in body["sets"]:
            stats = owner.get(f"/v1/stats/{entry['content_set']}", params={"window": window})
            assert stats.status_code == 200, stats.text
            assert shown(entry) == shown(stats.json()), (window, entry["content_set"])
            earlier = fct_numbers(ch, world.project_id, entry["content_set"], before)
            assert entry["previous_total"] == earlier[None]["total"]
            now = fct_numbers(ch, world.project_id, entry["content_set"], bounds)
            for mover in entry["movers"]:
                then = earlier.get(mover["content_key"], {"total": 0})["total"]
                assert (mover["total"], mover["previous_total"]) == (now.get(mover["content_key"], {"total": 0})["total"], then)
            changes = [abs(mover["total"] - mover["previous_total"]) for mover in entry["movers"]]
            assert changes == sorted(changes, reverse=True) and 0 not in changes
            top = owner.get(f"/v1/stats/{entry['content_set']}/top", params={"window": window, "limit": 5}).json()["items"]
            assert entry["top"] == top, (window, entry["content_set"])
        totals = body["totals"]
        assert totals["signals"] == sum(entry["total"] for entry in body["sets"])
        if window.endswith("d"):  # the history spans 120 days; a calendar period may have just begun
            assert totals["signals"] > 0
            assert any(entry["movers"] for entry in body["sets"])
        assert totals["previous_signals"] == sum(entry["previous_total"] for entry in body["sets"])

        days = {day.pop("day"): day for day in body["days"]}
        assert min(days) == bounds.start.isoformat() and max(days) == min(bounds.end, bounds.today).isoformat()
        assert sum(sum(day.values()) for day in days.values()) == totals["signals"]
        built = fct_days(ch, world.project_id, bounds.start, bounds.end)
        assert {day: counts for day, counts in days.items() if any(counts.values())} == built, window


def test_one_content_has_its_own_history(owner, ch, world):
    for window in ("30d", "month"):
        body = read_overview(owner, world, window=window, content_set="stars", content_key="/a")
        (stars,) = body["sets"]
        stats = owner.get("/v1/stats/stars//a", params={"window": window}).json()
        assert body["content_key"] == "/a" and shown(stars) == shown(stats)
        bounds = resolve(Window(window), TIMEZONE, dt.datetime.now(dt.UTC))
        earlier = fct_numbers(ch, world.project_id, "stars", previous_period(bounds)).get("/a", {"total": 0})
        assert stars["previous_total"] == earlier["total"]
        assert sum(sum(v for k, v in day.items() if k != "day") for day in body["days"]) == stats["total"]
        assert stars["top"] == stars["movers"] == []
    refused = owner.get(f"/v1/projects/{world.project_id}/overview", params={"content_key": "/a"})
    assert refused.status_code == 422 and "content_set" in refused.json()["error"]["message"]


def test_best_and_worst_contents_by_sentiment(owner, world):
    body = read_overview(owner, world, window="90d", content_set="stars")
    (stars,) = body["sets"]
    scored = [item for item in stars["top"] if item["sentiment"]["score"] is not None]
    by_score = sorted(scored, key=lambda item: (-item["sentiment"]["score"], -item["total"], item["content_key"]))
    assert [item["content_key"] for item in stars["best"]] == [item["content_key"] for item in by_score]
    assert stars["worst"][0]["sentiment"]["score"] == min(item["sentiment"]["score"] for item in scored)
    assert stars["rating_scale"] == 7
    assert stars["previous_average"] is None or isinstance(stars["previous_average"], float)


def test_a_signal_after_the_build_shows(owner, ch, world):
    """Polled up to 30 s, stopping when it shows; how soon (ack -> overview read p50/p99) is
    ``.venv/bin/python -m bench.freshness``'s."""
    before = read_overview(owner, world, window="7d", content_set="votes")
    events = RawEvents(project_id=world.project_id)
    events.create("yesno", dt.datetime.now(dt.UTC), content_set="votes", content_key="/live", visitor_id=uuid.uuid4().hex, value=1)
    world.insert(ch, events)

    def shown():
        after = read_overview(owner, world, window="7d", content_set="votes")
        assert after["totals"]["signals"] >= before["totals"]["signals"] + 1, after["totals"]
        return after

    after = eventually(shown)
    assert after["totals"]["signals"] == before["totals"]["signals"] + 1
    assert after["days"][-1]["positive"] == before["days"][-1]["positive"] + 1


@pytest.mark.parametrize("window", ["7d", "90d", "year"])
def test_clickhouse_ranks_the_built_contents_as_ranking_every_content(ch, world, window):
    """The orders query (ingest_api/stats/rankings.py), cut short at each depth, against every
    content of each set read from the marts and ranked in Python."""
    from ingest_api.stats.queries import MartWindow, read_contents, read_watermark
    from ingest_api.stats.rankings import BuiltRankings

    watermark = read_watermark(ch)
    bounds = resolve(Window(window), TIMEZONE, dt.datetime.now(dt.UTC))
    now, before = MartWindow.of(bounds, watermark), MartWindow.of(previous_period(bounds), watermark)
    for depth in (1, 2, 5):
        built = BuiltRankings(world.project_id, now, before, depth)
        built.read_orders(ch, sorted(SETS), touched=[("votes", "/a")])
        for content_set in SETS:
            current = read_contents(ch, world.project_id, content_set, now, None)
            previous = read_contents(ch, world.project_id, content_set, before, None)
            orders = built.orders[content_set]
            live = sorted((key for key, m in current.items() if m.signals > 0), key=lambda key: (-current[key].signals, key))
            assert orders["top"] == live[:depth], (window, depth, content_set)
            counts = {key: ((current.get(key) or Measures()).signals, (previous.get(key) or Measures()).signals) for key in current.keys() | previous.keys()}
            moved = sorted((key for key, (n, b) in counts.items() if n != b), key=lambda key: (-abs(counts[key][0] - counts[key][1]), -counts[key][0], key))
            assert orders["movers"] == moved[:depth], (window, depth, content_set)
            scored = [key for key in live if current[key].sentiment_score is not None]
            for name, sign in (("best", -1), ("worst", 1)):  # scores in order (float sums may differ in the last bit)
                scores = [round(sign * current[key].sentiment_score, 9) for key in orders[name]]
                assert len(orders[name]) == min(depth, len(scored)) and scores == sorted(scores), (name, window, content_set)
        numbers = built.numbers[("votes", "/a")]
        expected = read_contents(ch, world.project_id, "votes", now, ["/a"]).get("/a") or Measures()
        assert (numbers.signals, numbers.scored_signals) == (expected.signals, expected.scored_signals)


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"window": "all"}, 422, "window: must be one of"),
        ({"content_set": "nosuchset"}, 404, "no content set 'nosuchset'"),
    ],
)
def test_bad_input_names_the_parameter(owner, world, params, status, message):
    response = owner.get(f"/v1/projects/{world.project_id}/overview", params=params)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]


def test_only_the_project_owner_reads_it(owner, world):
    path = f"/v1/projects/{world.project_id}/overview"
    assert owner.get(path, headers={"Authorization": f"Bearer {world.public_key}"}).status_code == 403
    assert owner.get(path, headers={"Authorization": ""}).status_code == 401
