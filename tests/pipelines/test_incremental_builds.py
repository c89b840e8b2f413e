"""Incremental builds across months and years: periods summed from stored months, old days redone.

Unlike test_warehouse_build.py, this module builds twice more itself (``dbt run`` of past day ranges,
after the session's builds), on a project of its own whose events are older than everything else's,
so the watermark and the other projects' rows stay as the session's builds left them:

1. a history over December 2024 .. March 2025 (an ISO week across the new year);
2. two later days that retire a January signal (one per visitor), edit a March one and revoke
   another: the rebuilt year must add the untouched February to the recomputed months, and all
   time the untouched 2024 to the recomputed 2025.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

from pipelines.defs.dbt.project import DBT_PROJECT_DIR
from tests.pipelines import oracle
from tests.pipelines.raw_events import RawEvents
from tests.pipelines.scenario import content_day_rows

DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


def _dbt(*arguments: str, target: Path) -> subprocess.CompletedProcess:
    from pipelines.dbt_env import dbt_env

    command = [
        DBT_EXECUTABLE, *arguments, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target), "--log-path", str(target), "--quiet",
    ]  # fmt: skip
    return subprocess.run(command, env={**os.environ, **dbt_env()}, capture_output=True, text=True)


def _dbt_run(first_day: str, last_day: str, target: Path) -> None:
    done = _dbt("run", "--vars", json.dumps({"min_day": first_day, "max_day": last_day}), target=target)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def history(warehouse_build, tmp_path_factory) -> tuple[str, list[list]]:
    from warehouse.client import get_client

    project_id = f"history-{uuid.uuid4().hex[:6]}"
    first, later = RawEvents(project_id), RawEvents(project_id)
    votes = {"content_set": "votes"}
    first.create("yesno", "2024-12-30 10:00:00", value=1, visitor_id="v1", **votes)  # week of 2024-12-30, year 2024
    first.create("yesno", "2025-01-02 10:00:00", value=1, visitor_id="v5", **votes)  # same week, year 2025
    retired = first.create("yesno", "2025-01-15 10:00:00", value=-1, visitor_id="v2", **votes)
    first.create("yesno", "2025-02-10 10:00:00", value=1, visitor_id="v3", **votes)
    edited = first.create("yesno", "2025-03-05 10:00:00", value=1, visitor_id="v4", **votes)
    first.create("rating", "2025-01-20 09:00:00", value=4, rating_scale=5, content_set="stars", content_key="/b", visitor_id="v1")
    first.create("like", "2025-02-11 09:00:00", value=1, content_set="likes", content_key="/b", visitor_id="v6")
    revoked = first.create("like", "2025-03-01 09:00:00", value=1, content_set="likes", content_key="/b", visitor_id="v7")

    later.create("yesno", "2025-03-20 08:00:00", value=1, visitor_id="v2", **votes)  # retires v2's January "no"
    later.add(edited, "edit", "yesno", "2025-03-20 09:00:00", value=-1, visitor_id="v4", **votes)
    later.add(revoked, "revoke", "like", "2025-03-21 09:00:00", content_set="likes", content_key="/b", visitor_id="v7")
    rows = first.rows + later.rows
    assert retired in {row[5] for row in rows}

    client = get_client()
    try:
        first.insert(client)
        _dbt_run("2024-12-30", "2025-03-05", tmp_path_factory.mktemp("dbt-history"))
        later.insert(client)
        _dbt_run("2025-03-20", "2025-03-21", tmp_path_factory.mktemp("dbt-later"))
    finally:
        client.close()
    return project_id, rows


def _period_starts(day: dt.date) -> dict[str, dt.date]:
    return {
        "week": day - dt.timedelta(days=day.weekday()),
        "month": day.replace(day=1),
        "year": day.replace(month=1, day=1),
        "all": dt.date(1970, 1, 1),
    }


def _expected_periods(rows: list[list], by_content: bool) -> dict[tuple, tuple[int, int, dict]]:
    expected: dict[tuple, list] = {}
    for (content_set, content_key, day, signal_type), measures in oracle.content_days(oracle.live_signals(rows)).items():
        for period, start in _period_starts(day).items():
            key = (content_set, content_key, signal_type, period, start) if by_content else (content_set, signal_type, period, start)
            totals = expected.setdefault(key, [0, 0, Counter()])
            totals[0] += measures["signals"]
            totals[1] += measures["value_sum"]
            totals[2].update(measures["value_counts"])
    return {key: (signals, value_sum, dict(counts)) for key, (signals, value_sum, counts) in expected.items()}


def _stored_periods(ch, project_id: str, by_content: bool) -> dict[tuple, tuple[int, int, dict]]:
    """The period rows of the project, keyed like _expected_periods."""
    keys = ["content_set", "content_key", "signal_type"] if by_content else ["content_set", "signal_type"]
    table = "analytics.agg_content_period" if by_content else "analytics.agg_content_set_period"
    rows = ch.query(
        f"SELECT {', '.join(keys)}, period, period_start, signals, value_sum, value_counts FROM {table} WHERE project_id = {{p:String}}",
        parameters={"p": project_id},
    ).named_results()  # fmt: skip
    return {
        (*(r[k] for k in keys), r["period"], r["period_start"]): (r["signals"], r["value_sum"], dict(r["value_counts"]))
        for r in rows
    }


def test_periods_add_stored_months_and_years_to_the_recomputed_ones(history, ch):
    project_id, rows = history
    actual = _stored_periods(ch, project_id, by_content=True)
    expected = _expected_periods(rows, by_content=True)
    assert actual == expected
    # the cases this history is about, spelled out
    assert expected[("votes", "/a", "yesno", "year", dt.date(2025, 1, 1))] == (4, 2, {"yes": 3, "no": 1})
    assert expected[("votes", "/a", "yesno", "all", dt.date(1970, 1, 1))] == (5, 3, {"yes": 4, "no": 1})
    assert expected[("votes", "/a", "yesno", "week", dt.date(2024, 12, 30))] == (2, 2, {"yes": 2})
    assert ("votes", "/a", "yesno", "month", dt.date(2025, 1, 1)) in expected  # v5's Jan 2 vote is left
    assert ("likes", "/b", "like", "month", dt.date(2025, 3, 1)) not in expected


def test_set_periods_add_up_their_contents(history, ch):
    project_id, rows = history
    assert _stored_periods(ch, project_id, by_content=False) == _expected_periods(rows, by_content=False)


def test_old_days_are_redone_and_emptied_days_lose_their_rows(history, ch):
    project_id, rows = history
    actual = {
        key: {k: v for k, v in value.items() if k != "sentiment"}
        for key, value in content_day_rows(ch, project_id).items()
    }
    assert actual == oracle.content_days(oracle.live_signals(rows))
    assert ("votes", "/a", dt.date(2025, 1, 15), "yesno") not in actual  # its only signal was retired
    assert actual[("votes", "/a", dt.date(2025, 3, 5), "yesno")]["value_counts"] == {"no": 1}  # edited



def test_a_table_without_its_key_column_asks_for_a_full_refresh(history, ch, tmp_path):
    """A warehouse built before the row keys: the build stops with what to do, and a full refresh of the
    model restores the very rows the incremental builds made."""
    table = "analytics.agg_content_period"
    snapshot = f"SELECT groupArraySorted(1000000)(tuple(*)) FROM (SELECT * EXCEPT period_key FROM {table})"
    before = ch.query(snapshot).result_rows[0][0]
    ch.command(f"ALTER TABLE {table} DROP COLUMN period_key")
    try:
        refused = _dbt("run", "--vars", json.dumps({"min_day": "2025-03-20", "max_day": "2025-03-21"}),
                       "--select", "agg_content_period", target=tmp_path / "refused")  # fmt: skip
    finally:
        rebuilt = _dbt("run", "--full-refresh", "--select", "agg_content_period", target=tmp_path / "rebuilt")
    said = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0
    assert "`analytics`.`agg_content_period` has no column period_key" in said, said[-3000:]
    assert "Rebuild it once with `dbt build --full-refresh`" in said
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:] + rebuilt.stderr[-3000:]
    assert ch.query(snapshot).result_rows[0][0] == before
