"""Reads of the marts built by dbt_project/: the last build's watermark and a window's measures.

Every read is a primary-key range of one mart: (project_id, content_set[, content_key]) and then
the window's rows (every content of a set on given days: agg_content_daily_by_set, where they are
one range), which are
  - 7d/30d/90d: the row of agg_*_rolling when it was built as of today (its ``as_of_day`` is the
    watermark's date in the project's time zone), else the window's days of agg_*_daily;
  - week/month/year/all: the one row of agg_*_period for the period.
Rows are per signal type; they are summed here so a window is one row per content.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from ingest_api.stats.measures import Measures
from ingest_api.stats.windows import WindowBounds

# Schemas of dbt_project's profile (schema `analytics`; staging and intermediate models `+schema: staging`).
MARTS = "analytics"
STAGING = "analytics_staging"

_SUMS = """
    toUInt64(sum(signals)) AS signals,
    sumMap(value_counts) AS value_counts,
    toUInt64(sum(valued_signals)) AS valued_signals,
    toInt64(sum(value_sum)) AS value_sum,
    toUInt64(sum(positive_signals)) AS positive_signals,
    toUInt64(sum(neutral_signals)) AS neutral_signals,
    toUInt64(sum(negative_signals)) AS negative_signals,
    toUInt64(sum(scored_signals)) AS scored_signals,
    toFloat64(sum(sentiment_sum)) AS sentiment_sum"""


def utc(moment: dt.datetime) -> dt.datetime:
    """clickhouse-connect returns DateTime64(3, 'UTC') as naive UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _missing_relation(exc: DatabaseError) -> bool:
    text = str(exc)
    return "UNKNOWN_TABLE" in text or "UNKNOWN_DATABASE" in text


def read_watermark(client: Client) -> dt.datetime | None:
    """Every raw event received up to this instant is in the marts; None before the first build."""
    try:
        result = client.query(f"SELECT max(max_received_at) FROM {MARTS}.build_watermarks")
    except DatabaseError as exc:
        if _missing_relation(exc):
            return None
        raise
    return utc(result.result_rows[0][0])


@dataclass(frozen=True)
class MartWindow:
    """Where a window's numbers are in the marts: the table kind (rolling, daily, period) and its rows."""

    kind: str
    condition: str
    parameters: tuple[tuple[str, object], ...]

    @property
    def table_of_contents(self) -> str:
        """The mart that holds every content of a set in this window as one primary-key range: for
        days, the daily rows ordered by day within the set (not the set's whole history)."""
        return "agg_content_daily_by_set" if self.kind == "daily" else f"agg_content_{self.kind}"

    def renamed(self, prefix: str) -> MartWindow:
        """The same rows with parameters named ``prefix`` + name (two windows in one query)."""
        condition = self.condition.replace("{", "{" + prefix)
        return MartWindow(self.kind, condition, tuple((prefix + name, value) for name, value in self.parameters))

    @classmethod
    def of(cls, bounds: WindowBounds, watermark: dt.datetime) -> MartWindow:
        if bounds.rolling_days is None:
            return cls(
                "period",
                "period = {period:String} AND period_start = {period_start:Date}",
                (("period", bounds.period), ("period_start", bounds.period_start)),
            )
        built_as_of = watermark.astimezone(ZoneInfo(bounds.timezone)).date()
        if built_as_of == bounds.end:
            return cls("rolling", "window_days = {window_days:UInt16}", (("window_days", bounds.rolling_days),))
        return cls("daily", "day BETWEEN {start:Date} AND {end:Date}", (("start", bounds.start), ("end", bounds.end)))


def read_contents(
    client: Client, project_id: str, content_set: str, window: MartWindow, contents: list[str] | None, limit: int | None = None
) -> dict[str, Measures] | None:
    """The window's measures of ``contents`` (every content of the set when None) that have any;
    None when there are more than ``limit`` of them."""
    only = "AND content_key IN {contents:Array(String)}" if contents is not None else ""
    capped = "LIMIT {limit:UInt64}" if limit is not None else ""
    table = window.table_of_contents if contents is None else f"agg_content_{window.kind}"
    sql = f"""
        SELECT content_key, {_SUMS}
        FROM {MARTS}.{table}
        WHERE project_id = {{project_id:String}} AND content_set = {{content_set:String}} {only}
          AND {window.condition}
        GROUP BY content_key
        {capped}"""
    parameters = {
        "project_id": project_id,
        "content_set": content_set,
        "contents": contents,
        "limit": None if limit is None else limit + 1,
        **dict(window.parameters),
    }
    rows = {row["content_key"]: Measures.from_row(row) for row in client.query(sql, parameters=parameters).named_results()}
    return None if limit is not None and len(rows) > limit else rows


def read_set(client: Client, project_id: str, content_set: str, window: MartWindow) -> Measures:
    sql = f"""
        SELECT {_SUMS}
        FROM {MARTS}.agg_content_set_{window.kind}
        WHERE project_id = {{project_id:String}} AND content_set = {{content_set:String}}
          AND {window.condition}"""
    parameters = {"project_id": project_id, "content_set": content_set, **dict(window.parameters)}
    rows = list(client.query(sql, parameters=parameters).named_results())
    return Measures.from_row(rows[0]) if rows else Measures()
