"""Retention: expired events go (by partition drop or delete), nothing inside retention is touched."""

from __future__ import annotations

import datetime as dt

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import ErasureRequest, JobStatus
from pipelines.defs.retention.assets import retention_job
from tests.jobs.conftest import new_project
from tests.pipelines.raw_events import RawEvents

AS_OF = dt.datetime(2020, 6, 15, 12, 0, tzinfo=dt.UTC)
MS = dt.timedelta(milliseconds=1)


def _received(ch, project_id: str) -> list[dt.datetime]:
    rows = ch.query(
        "SELECT received_at FROM raw.feedback_events WHERE project_id = {p:String} ORDER BY received_at", parameters={"p": project_id}
    ).result_rows
    return [row[0].replace(tzinfo=dt.UTC) if row[0].tzinfo is None else row[0] for row in rows]


def _run(dry_run: bool) -> dict:
    """Run the retention job as of ``AS_OF``; returns each step's output event."""
    result = retention_job.execute_in_process(run_config={"dry_run": dry_run, "as_of": AS_OF.isoformat()})
    assert result.success
    return {event.step_key: event for event in result.all_events if event.event_type_value == "STEP_OUTPUT"}


def _metadata(outputs: dict, step: str) -> dict:
    return {key: value.value for key, value in outputs[step].event_specific_data.metadata.items()}


def test_expiry_keeps_the_boundary_and_drops_whole_expired_months(jobs_settings, ch):
    short = new_project(jobs_settings, "short retention", retention_days=30)
    long = new_project(jobs_settings, "long retention", retention_days=60)
    short_cutoff, long_cutoff = AS_OF - dt.timedelta(days=30), AS_OF - dt.timedelta(days=60)
    events = RawEvents()
    moments = {
        short: [short_cutoff - MS, short_cutoff, dt.datetime(2020, 4, 20, tzinfo=dt.UTC), dt.datetime(2020, 6, 10, tzinfo=dt.UTC)],
        # March holds only this project's expired rows: that month goes by dropping its partition.
        long: [long_cutoff - MS, long_cutoff, dt.datetime(2020, 3, 3, tzinfo=dt.UTC), dt.datetime(2020, 3, 30, tzinfo=dt.UTC)],
    }
    for project_id, times in moments.items():
        for moment in times:
            events.create("like", moment, content_set="likes", value=1, project_id=project_id)
    events.insert(ch)
    expired = {short: 2, long: 3}
    kept = {p: [m for m in times if m >= (short_cutoff if p == short else long_cutoff)] for p, times in moments.items()}

    dry = _metadata(_run(dry_run=True), "expire_events")
    assert dry["dry_run"] is True
    assert {p: dry["per_project"][p]["raw.feedback_events"] for p in expired} == expired
    assert "202003" in dry["partitions_to_drop"]["raw.feedback_events"]
    assert "202004" not in dry["partitions_to_drop"]["raw.feedback_events"]  # shared with rows still kept
    assert {p: len(_received(ch, p)) for p in moments} == {p: len(times) for p, times in moments.items()}

    real = _metadata(_run(dry_run=False), "expire_events")
    assert {p: real["per_project"][p]["raw.feedback_events"] for p in expired} == expired
    assert real["partitions_dropped"] == dry["partitions_to_drop"]
    for project_id in moments:
        assert _received(ch, project_id) == sorted(kept[project_id])

    again = _metadata(_run(dry_run=False), "expire_events")  # a retry or a second run removes nothing more
    assert not any(again["per_project"].get(p) for p in moments)
    for project_id in moments:
        assert _received(ch, project_id) == sorted(kept[project_id])


def _count(ch, project_id: str) -> int:
    return ch.query("SELECT count() FROM raw.feedback_events WHERE project_id = {p:String}", parameters={"p": project_id}).result_rows[0][0]


def test_erasures_remove_a_visitor_or_a_content_and_rebuild_the_aggregates(jobs_settings, marts_projects, ch):
    # Raw-only history (2020, never built into marts): one visitor and one content go, the rest stays.
    raw_only = new_project(jobs_settings, "erasures", retention_days=3650)
    events = RawEvents(project_id=raw_only)
    day = dt.datetime(2020, 6, 1, 10, tzinfo=dt.UTC)
    for n in range(3):
        events.create("like", day + dt.timedelta(hours=n), content_set="likes", content_key="/kept", visitor_id="erase-me", value=1)
        events.create("like", day + dt.timedelta(hours=n), content_set="likes", content_key="/kept", visitor_id=f"stays-{n}", value=1)
        events.create("like", day + dt.timedelta(hours=n), content_set="likes", content_key="/gone", visitor_id=f"stays-{n}", value=1)
    events.insert(ch)
    # Built history: a visitor whose note counted in the marts.
    built, bystander = marts_projects["erasure"], marts_projects["recap"]
    before, bystander_before = _weekly_totals(ch, built), _weekly_totals(ch, bystander)
    assert before["notes"] == 7
    with session_scope(jobs_settings) as session:
        session.add_all([
            ErasureRequest(project_id=raw_only, visitor_id="erase-me"),
            ErasureRequest(project_id=raw_only, content_set="likes", content_key="/gone"),
            ErasureRequest(project_id=built, visitor_id="w7"),  # wrote Monday 2024-03-04's note
        ])

    dry = _metadata(_run(dry_run=True), "carry_out_erasures")
    assert dry["rows_to_remove"] >= 6 + 1
    assert _count(ch, raw_only) == 9 and _weekly_totals(ch, built) == before

    outputs = _run(dry_run=False)
    rows = ch.query(
        "SELECT visitor_id, content_key FROM raw.feedback_events WHERE project_id = {p:String} ORDER BY ALL", parameters={"p": raw_only}
    ).result_rows
    assert rows == [(f"stays-{n}", "/kept") for n in range(3)]
    with session_scope(jobs_settings) as session:
        statuses = {r.status for r in session.query(ErasureRequest).filter(ErasureRequest.project_id.in_([raw_only, built]))}
    assert statuses == {JobStatus.done}

    assert _metadata(outputs, "rebuild_after_erasures")["rebuilt"] is True
    assert _weekly_totals(ch, built) == {**before, "notes": 6}
    assert _weekly_totals(ch, bystander) == bystander_before
    for table in ("raw.feedback_events", "analytics.fct_signals", "analytics_staging.stg_feedback_events"):
        left = ch.query(f"SELECT count() FROM {table} WHERE project_id = {{p:String}} AND visitor_id = 'w7'", parameters={"p": built})
        assert left.result_rows[0][0] == 0, table
    daily = ch.query(
        "SELECT count() FROM analytics.agg_content_daily WHERE project_id = {p:String} AND content_set = 'notes' AND day = '2024-03-04'",
        parameters={"p": built},
    ).result_rows[0][0]
    assert daily == 0  # Monday's only note is gone, and with it the content-day


def _weekly_totals(ch, project_id: str) -> dict[str, int]:
    rows = ch.query(
        "SELECT content_set, signals FROM analytics.agg_content_set_period "
        "WHERE project_id = {p:String} AND period = 'week' AND period_start = '2024-03-04'",
        parameters={"p": project_id},
    ).result_rows
    return dict(rows)
