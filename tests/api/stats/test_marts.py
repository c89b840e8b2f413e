"""The stats API's numbers against the marts of real dbt builds, and operations after a build.

- the API's numbers for every set, content and window equal fct_signals' (and the rolling mart's),
  and an independent Python reading of the raw events (tests/pipelines/oracle.py);
- operations inserted after the build (a create, edits and revokes of built signals, a visitor
  voting again, a retry, a bot) are in the numbers without a build (how soon: bench/freshness.py), and a second build
  gives the marts exactly the numbers the API showed;
- values a signal type cannot have are refused and never break a build.
"""

from __future__ import annotations

import datetime as dt
import uuid

from ingest_api.stats.windows import Window, resolve
from tests.api.stats_support import (
    CONTENTS,
    PUBLIC_SETS,
    TIMEZONE,
    World,
    assert_api_equals_marts,
    assert_api_equals_oracle,
    dbt_build,
    read_everything,
)
from tests.pipelines import oracle
from tests.pipelines.raw_events import COLUMNS, RawEvents
from tests.polling import eventually


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


def test_after_a_build_every_window_equals_the_marts(api, ch, built_world):
    world = built_world
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


def _live(world: World, content_set: str, content_key: str, **matching) -> oracle.LiveSignal:
    repeatable = {"likes"}
    for signal in oracle.live_signals(world.rows, TIMEZONE, repeatable):
        if signal.content_set == content_set and signal.content_key == content_key:
            if all(getattr(signal, name) == value for name, value in matching.items()):
                return signal
    raise AssertionError(f"no live {content_set} {content_key} signal with {matching}")


def _visitor_of(world: World, signal_id) -> str:
    return next(row[COLUMNS.index("visitor_id")] for row in world.rows if row[COLUMNS.index("signal_id")] == signal_id)


def test_operations_after_the_build_count_and_the_next_build_agrees(api, ch, world):
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
    # a new thumb on another content, in the same insert: once it shows, the retry was looked at too
    fresh.create("updown", now, content_set="thumbs", content_key="/marker", visitor_id="v8", value=1)
    world.insert(ch, fresh)

    def counted():  # polled: the stats' live deltas refresh on their own (how soon: bench/freshness.py)
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
        assert api.get("/v1/stats/thumbs//marker").json()["total"] == 1
        assert {k: v for k, v in after["thumbs"].items() if k} == {k: v for k, v in before["thumbs"].items() if k}
        assert after["thumbs"][None]["total"] == before["thumbs"][None]["total"] + 1  # the marker alone
        assert after["votes"][None]["total"] == before["votes"][None]["total"] + 1
        return after

    after = eventually(counted)
    assert_api_equals_oracle(api, world)

    dbt_build(world)  # catches up from the watermark, like an unpartitioned run
    seen = assert_api_equals_marts(api, ch, world)
    for content_set in PUBLIC_SETS:
        assert seen[(content_set, Window.all)] == after[content_set], content_set


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
