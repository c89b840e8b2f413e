"""The numbers of a recap, read from the dbt marts of one project and period.

Marts (schema ``analytics``): ``agg_content_set_period`` and ``agg_content_period`` hold one row per
calendar week / month in the project's time zone, ``agg_content_set_daily`` the days,
``fct_signals`` the live signals with their sentiment. Their days are already local to the project,
so a period's rows are found by its first local day.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from feelback.control_plane.models import RecapFrequency
from feelback.recaps.periods import Period
from feelback.recaps.report import ContentLine, DailyPoint, FeedbackLine, RecapReport, SetTotal

MARTS = "analytics"
MART_PERIOD = {RecapFrequency.weekly: "week", RecapFrequency.monthly: "month"}
LIST_LENGTH = 5
NEWEST_FEEDBACK = 5
# Contents need this many scored signals in the period to rank among the top and bottom.
MIN_SCORED_TO_RANK = 1


def _parameters(project_id: str, period: Period) -> dict:
    return {
        "project": project_id,
        "period": MART_PERIOD[period.kind],
        "start": period.start,
        "previous_start": period.previous.start,
        "end": period.end,
    }


def set_totals(client: Client, project_id: str, period: Period) -> list[SetTotal]:
    rows = client.query(
        f"""
        SELECT
            content_set,
            toString(signal_type) AS signal_type,
            sumIf(signals, period_start = {{start:Date}}) AS period_signals,
            sumIf(signals, period_start = {{previous_start:Date}}) AS previous_signals,
            sumIf(sentiment_sum, period_start = {{start:Date}}) / nullIf(sumIf(scored_signals, period_start = {{start:Date}}), 0) AS sentiment,
            sumIf(sentiment_sum, period_start = {{previous_start:Date}}) / nullIf(sumIf(scored_signals, period_start = {{previous_start:Date}}), 0) AS previous_sentiment
        FROM {MARTS}.agg_content_set_period
        WHERE project_id = {{project:String}}
          AND period = {{period:String}}
          AND period_start IN ({{start:Date}}, {{previous_start:Date}})
        GROUP BY content_set, signal_type
        HAVING period_signals > 0 OR previous_signals > 0
        ORDER BY period_signals DESC, content_set, signal_type
        """,
        parameters=_parameters(project_id, period),
    ).result_rows
    return [SetTotal(s, t, int(n), int(p), _float(sc), _float(ps)) for s, t, n, p, sc, ps in rows]


def _content_scores(client: Client, project_id: str, period: Period) -> list[ContentLine]:
    rows = client.query(
        f"""
        SELECT
            content_set,
            content_key,
            sumIf(signals, period_start = {{start:Date}}) AS period_signals,
            sumIf(scored_signals, period_start = {{start:Date}}) AS period_scored,
            sumIf(sentiment_sum, period_start = {{start:Date}}) / nullIf(period_scored, 0) AS sentiment,
            sumIf(sentiment_sum, period_start = {{previous_start:Date}})
                / nullIf(sumIf(scored_signals, period_start = {{previous_start:Date}}), 0) AS previous_sentiment
        FROM {MARTS}.agg_content_period
        WHERE project_id = {{project:String}}
          AND period = {{period:String}}
          AND period_start IN ({{start:Date}}, {{previous_start:Date}})
        GROUP BY content_set, content_key
        HAVING period_scored >= {{min_scored:UInt64}}
        """,
        parameters={**_parameters(project_id, period), "min_scored": MIN_SCORED_TO_RANK},
    ).result_rows
    return [ContentLine(s, k, int(n), float(sc), _float(ps)) for s, k, n, _, sc, ps in rows]


def ranked_contents(client: Client, project_id: str, period: Period) -> tuple[list[ContentLine], list[ContentLine], list[ContentLine]]:
    """(top, bottom, movers): best and worst sentiment, and the largest change against the previous period."""
    lines = _content_scores(client, project_id, period)
    by_volume = sorted(lines, key=lambda line: (-line.signals, line.content_set, line.content_key))
    top = sorted(by_volume, key=lambda line: -line.sentiment)[:LIST_LENGTH]
    shown = {(line.content_set, line.content_key) for line in top}
    bottom = [line for line in sorted(by_volume, key=lambda line: line.sentiment) if (line.content_set, line.content_key) not in shown]
    movers = [line for line in by_volume if line.movement]
    movers.sort(key=lambda line: -abs(line.movement or 0.0))
    return top, bottom[:LIST_LENGTH], movers[:LIST_LENGTH]


def newest_feedback(client: Client, project_id: str, period: Period) -> list[FeedbackLine]:
    rows = client.query(
        f"""
        SELECT created_at, content_set, content_key, message, sentiment
        FROM {MARTS}.fct_signals
        WHERE project_id = {{project:String}}
          AND signal_type = 'message'
          AND day >= {{start:Date}} AND day < {{end:Date}}
          AND message != ''
        ORDER BY created_at DESC, signal_id
        LIMIT {{limit:UInt32}}
        """,
        parameters={**_parameters(project_id, period), "limit": NEWEST_FEEDBACK},
    ).result_rows
    return [FeedbackLine(at, s, k, m, _float(sc)) for at, s, k, m, sc in rows]


def daily_points(client: Client, project_id: str, period: Period) -> list[DailyPoint]:
    rows = client.query(
        f"""
        SELECT day, sum(positive_signals), sum(neutral_signals), sum(negative_signals), sum(signals)
        FROM {MARTS}.agg_content_set_daily
        WHERE project_id = {{project:String}} AND day >= {{start:Date}} AND day < {{end:Date}}
        GROUP BY day
        """,
        parameters=_parameters(project_id, period),
    ).result_rows
    found = {day: (int(p), int(n), int(m), int(total)) for day, p, n, m, total in rows}
    points = []
    for day in period.days:
        positive, neutral, negative, total = found.get(day, (0, 0, 0, 0))
        points.append(DailyPoint(day, positive, neutral, negative, unscored=total - positive - neutral - negative))
    return points


def build_report(client: Client, project_id: str, project_name: str, timezone: str, period: Period) -> RecapReport:
    top, bottom, movers = ranked_contents(client, project_id, period)
    return RecapReport(
        project_id=project_id,
        project_name=project_name,
        timezone=timezone,
        period=period,
        totals=set_totals(client, project_id, period),
        top=top,
        bottom=bottom,
        movers=movers,
        feedback=newest_feedback(client, project_id, period),
        daily=daily_points(client, project_id, period),
    )


def _float(value) -> float | None:
    return None if value is None else float(value)
