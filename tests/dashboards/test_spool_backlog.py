"""A real spool backlog (the API's ClickHouse unreachable for a few seconds) shows on the operations
dashboard: in the backlog-over-time chart while it lasted, and drained in the current-backlog table."""

from __future__ import annotations

import datetime as dt
import socket

from tests.dashboards.test_chart_data import chart_rows


def _utc(millis: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


def test_the_outage_shows_in_the_backlog_charts(superset, superset_api, spool_outage):
    lane = f"{socket.gethostname()} lane-0"
    columns, rows = chart_rows(superset, superset_api, "spool_backlog_over_time", None)
    assert columns == ["minute", "api_lane", "pending bytes"]
    first_minute = spool_outage.down_at.replace(second=0, microsecond=0)
    during = [row for row in rows if row[1] == lane and first_minute <= _utc(row[0]) <= spool_outage.back_at]
    assert during and max(row[2] for row in during) > 1000, rows

    columns, rows = chart_rows(superset, superset_api, "spool_backlog_now", None)
    now = {(row[columns.index("host")], row[columns.index("lane")]): row for row in rows}
    latest = now[(socket.gethostname(), "lane-0")]
    assert _utc(latest[columns.index("reported_at")]) >= spool_outage.back_at
    assert latest[columns.index("pending_bytes")] == 0 and latest[columns.index("oldest_pending_seconds")] == 0
