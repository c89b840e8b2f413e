"""The warehouse build end to end: raw events → Dagster job (dlt, VADER, dbt build) → marts.

All tests read the session's two builds (tests/fixtures/warehouse_build.py); none builds again.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from tests.pipelines import oracle
from tests.pipelines.scenario import DAYS, SCENARIO_TIMEZONE, content_day_rows


def day(n: int) -> dt.date:
    return DAYS[n]


def row(signals: int, value_counts: dict, value_sum: int, sentiment: tuple[int, int, int]) -> dict:
    return {"signals": signals, "value_counts": value_counts, "value_sum": value_sum, "sentiment": sentiment}


# (content_set, content_key, New York day, type) → signals, per-value counts, value sum,
# (positive, neutral, negative)
AFTER_SECOND_BUILD = {
    ("votes", "/a", day(1), "yesno"): row(1, {"yes": 1}, 1, (1, 0, 0)),  # s3 at 02:00 UTC on D2
    ("votes", "/a", day(2), "yesno"): row(1, {"no": 1}, -1, (0, 0, 1)),  # s4 retired v1's s1
    ("votes", "/a", day(4), "yesno"): row(1, {"yes": 1}, 1, (1, 0, 0)),
    ("votes", "/a", day(5), "yesno"): row(1, {"yes": 1}, 1, (1, 0, 0)),  # s6 retired v2's s2 of D1
    ("votes", "/b", day(2), "yesno"): row(1, {"yes": 1}, 1, (1, 0, 0)),
    ("stars", "/a", day(1), "rating"): row(1, {"3": 1}, 3, (0, 1, 0)),  # edited 4 → 2 → 3
    ("stars", "/a", day(3), "rating"): row(1, {"5": 1}, 5, (1, 0, 0)),
    ("likes", "/a", day(1), "like"): row(2, {"like": 2}, 2, (2, 0, 0)),
    # the heart of D1 was revoked: that day has no reaction left
    ("reactions", "/a", day(2), "reaction"): row(1, {"angry": 1}, 0, (0, 0, 1)),
    ("reactions", "/a", day(3), "reaction"): row(1, {"meh": 1}, 0, (0, 1, 0)),
    ("notes", "/a", day(2), "message"): row(1, {}, 0, (0, 0, 1)),  # its text was edited
    ("notes", "/a", day(3), "message"): row(2, {}, 0, (1, 0, 1)),
    ("thumbs", "/b", day(3), "updown"): row(1, {"up": 1}, 1, (1, 0, 0)),
}

CHANGED_BY_SECOND_BUILD = {
    ("votes", "/a", day(1), "yesno"): row(2, {"yes": 1, "no": 1}, 0, (1, 0, 1)),
    ("stars", "/a", day(1), "rating"): row(1, {"2": 1}, 2, (0, 0, 1)),
    ("reactions", "/a", day(1), "reaction"): row(1, {"heart": 1}, 0, (1, 0, 0)),
    ("notes", "/a", day(2), "message"): row(1, {}, 0, (1, 0, 0)),
}
ADDED_BY_SECOND_BUILD = {("votes", "/a", day(4), "yesno"), ("votes", "/a", day(5), "yesno")}


def test_every_dbt_check_passes_in_both_builds(warehouse_build):
    for run in (warehouse_build.first_run, warehouse_build.second_run):
        evaluations = run.get_asset_check_evaluations()
        assert len(evaluations) == warehouse_build.check_count > 40
        assert [e.check_name for e in evaluations if not e.passed] == []


def test_each_build_observes_the_raw_events(warehouse_build):
    for run in (warehouse_build.first_run, warehouse_build.second_run):
        observations = [e.asset_observation_data.asset_observation for e in run.get_asset_observation_events()]
        # (dbt's tests of the source report on it too, without a row count)
        counts = [
            o.metadata["dagster/row_count"].value
            for o in observations
            if o.asset_key == dg.AssetKey(["raw", "feedback_events"]) and "dagster/row_count" in o.metadata
        ]
        assert len(counts) == 1 and counts[0] > 0


def test_first_build_counts_the_first_three_days(warehouse_build):
    expected = {
        key: CHANGED_BY_SECOND_BUILD.get(key, value)
        for key, value in AFTER_SECOND_BUILD.items()
        if key not in ADDED_BY_SECOND_BUILD
    }
    expected |= CHANGED_BY_SECOND_BUILD
    assert warehouse_build.after_first == expected


def test_second_build_recomputes_the_days_its_edits_and_revokes_touch(warehouse_build, ch):
    assert content_day_rows(ch, warehouse_build.scenario.project_id) == AFTER_SECOND_BUILD


def test_signals_carry_their_current_value_and_sentiment(warehouse_build, ch):
    s = warehouse_build.scenario.signals
    rows = ch.query(
        "SELECT signal_id, value, value_key, message, sentiment, sentiment_label, edits FROM analytics.fct_signals "
        "WHERE project_id = {p:String}",
        parameters={"p": warehouse_build.scenario.project_id},
    ).named_results()
    facts = {r["signal_id"]: r for r in rows}
    names = {v: k for k, v in s.items()}
    assert sorted(names[signal] for signal in facts) == sorted(
        ["s3", "s4", "s5", "s6", "s8", "r1", "r2", "l1", "l2", "x2", "x3", "m1", "m2", "m3", "u1"]
    )
    assert (facts[s["r1"]]["value"], facts[s["r1"]]["edits"], facts[s["r1"]]["sentiment"]) == (3, 2, 0.0)
    assert facts[s["r2"]]["sentiment"] == 1.0
    assert facts[s["x2"]]["sentiment"] == -1.0  # the set's own polarity for "angry"
    vader = SentimentIntensityAnalyzer()
    for name, text in [("m1", "Actually this is awful."), ("m2", "This is terrible and broken."), ("m3", "Thanks, very helpful!")]:
        fact = facts[s[name]]
        assert fact["message"] == text
        assert fact["sentiment"] == pytest.approx(vader.polarity_scores(text)["compound"], abs=1e-6)
    assert facts[s["m1"]]["sentiment_label"] == "negative"


def test_sentiment_scores_every_message_text_once(warehouse_build, ch):
    scores = ch.query(
        "SELECT signal_id, count() AS texts, uniqExact(event_id) AS events FROM enrichment.message_sentiment "
        "WHERE project_id = {p:String} GROUP BY signal_id",
        parameters={"p": warehouse_build.scenario.project_id},
    ).result_rows
    s = warehouse_build.scenario.signals
    assert {signal: (texts, events) for signal, texts, events in scores} == {s["m1"]: (2, 2), s["m2"]: (1, 1), s["m3"]: (1, 1)}


def test_set_days_sum_their_contents(warehouse_build, ch):
    rows = ch.query(
        "SELECT day, contents, signals, value_counts FROM analytics.agg_content_set_daily "
        "WHERE project_id = {p:String} AND content_set = 'votes' ORDER BY day",
        parameters={"p": warehouse_build.scenario.project_id},
    ).result_rows
    assert [(d, contents, signals, dict(counts)) for d, contents, signals, counts in rows] == [
        (day(1), 1, 1, {"yes": 1}),
        (day(2), 2, 2, {"no": 1, "yes": 1}),
        (day(4), 1, 1, {"yes": 1}),
        (day(5), 1, 1, {"yes": 1}),
    ]


def test_periods_hold_their_days_in_the_project_time_zone(warehouse_build, ch):
    rows = ch.query(
        "SELECT period, period_start, signals, value_sum FROM analytics.agg_content_period "
        "WHERE project_id = {p:String} AND content_set = 'votes' AND content_key = '/a'",
        parameters={"p": warehouse_build.scenario.project_id},
    ).result_rows
    expected: dict[tuple, list[int]] = {}
    for (content_set, content_key, d, _), values in AFTER_SECOND_BUILD.items():
        if (content_set, content_key) != ("votes", "/a"):
            continue
        starts = {
            "week": d - dt.timedelta(days=d.weekday()),
            "month": d.replace(day=1),
            "year": d.replace(month=1, day=1),
            "all": dt.date(1970, 1, 1),
        }
        for period, start in starts.items():
            totals = expected.setdefault((period, start), [0, 0])
            totals[0] += values["signals"]
            totals[1] += values["value_sum"]
    assert {(period, start): [signals, total] for period, start, signals, total in rows} == expected


def test_rolling_windows_end_on_the_watermark_day(warehouse_build, ch):
    project = warehouse_build.scenario.project_id
    (watermark,) = ch.query("SELECT max_received_at FROM analytics.build_watermarks ORDER BY built_at DESC LIMIT 1").result_rows[0]
    as_of = watermark.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(SCENARIO_TIMEZONE)).date()
    rows = ch.query(
        "SELECT window_days, as_of_day, window_start, signals FROM analytics.agg_content_rolling "
        "WHERE project_id = {p:String} AND content_set = 'votes' AND content_key = '/a'",
        parameters={"p": project},
    ).result_rows
    votes = {d: v["signals"] for (cs, ck, d, _), v in AFTER_SECOND_BUILD.items() if (cs, ck) == ("votes", "/a")}
    # other tests' newer events may move the watermark on to today: D2..D5 are in every 7-day window still
    assert day(5) <= as_of <= dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    expected = {}
    for window in (7, 30, 90):
        start = as_of - dt.timedelta(days=window - 1)
        expected[window] = (as_of, start, sum(n for d, n in votes.items() if d >= start))
    assert expected[7][2] > 0
    assert {window: (end, start, signals) for window, end, start, signals in rows} == expected


def test_the_second_build_stops_at_its_last_day(warehouse_build, ch):
    s = warehouse_build.scenario.signals
    staged = ch.query(
        "SELECT count() FROM analytics_staging.stg_feedback_events WHERE project_id = {p:String} AND signal_id = {s:UUID}",
        parameters={"p": warehouse_build.scenario.project_id, "s": s["s7"]},
    ).result_rows[0][0]
    assert staged == 0
    (last_mine,) = ch.query(
        "SELECT max(received_at) FROM analytics_staging.stg_feedback_events WHERE project_id = {p:String}",
        parameters={"p": warehouse_build.scenario.project_id},
    ).result_rows[0]
    assert last_mine.date() == day(5)
    (watermark,) = ch.query("SELECT max(max_received_at) FROM analytics.build_watermarks").result_rows[0]
    assert watermark >= last_mine


def test_retries_and_bots_are_staged_once_or_not_at_all(warehouse_build, ch):
    rows = ch.query(
        "SELECT idempotency_key, count() FROM analytics_staging.stg_feedback_events "
        "WHERE project_id = {p:String} GROUP BY idempotency_key HAVING idempotency_key = 's2-create' OR count() > 1",
        parameters={"p": warehouse_build.scenario.project_id},
    ).result_rows
    assert rows == [("s2-create", 1)]
    bots = ch.query(
        "SELECT count() FROM analytics_staging.stg_feedback_events WHERE project_id = {p:String} AND visitor_id = 'crawler'",
        parameters={"p": warehouse_build.scenario.project_id},
    ).result_rows[0][0]
    assert bots == 0


def test_random_history_matches_the_rules_written_in_python(warehouse_build, ch):
    expected = oracle.content_days(oracle.live_signals(warehouse_build.random_rows))
    actual = content_day_rows(ch, warehouse_build.random_project_id)
    assert len(expected) > 20
    assert {key: {k: v for k, v in value.items() if k != "sentiment"} for key, value in actual.items()} == expected


def test_control_plane_replication_takes_only_what_analysis_needs(warehouse_build, ch):
    tables = {name for (name,) in ch.query("SELECT name FROM system.tables WHERE database = 'raw_app'").result_rows}
    assert {"projects", "content_sets"} <= tables
    assert not {"api_keys", "recap_subscriptions"} & tables
    columns = {name for (name,) in ch.query("SELECT name FROM system.columns WHERE database = 'raw_app'").result_rows}
    assert not {"key_hash", "email", "allowed_origins"} & columns
    (timezone,) = ch.query(
        "SELECT timezone FROM raw_app.projects WHERE id = {p:String}", parameters={"p": warehouse_build.scenario.project_id}
    ).result_rows[0]
    assert timezone == "America/New_York"
