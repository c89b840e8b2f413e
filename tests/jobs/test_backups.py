"""Backups: full, then incremental on it; wipe the warehouse and the control plane; restore; all counts equal."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete

from feelback.control_plane.db import dispose_engines, session_scope
from feelback.control_plane.models import Base, RecapSubscription
from pipelines.defs.backups import control_plane, warehouse
from pipelines.defs.backups.assets import backup_job
from pipelines.defs.backups.backup import restore_backup
from pipelines.defs.backups.catalog import backups
from tests.jobs.conftest import new_project
from tests.pipelines.raw_events import RawEvents


def _backup(kind: str) -> dict:
    result = backup_job.execute_in_process(run_config={"ops": {"back_up_everything": {"config": {"kind": kind}}}})
    assert result.success
    [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    return {key: value.value for key, value in output.event_specific_data.metadata.items()}


def _state(settings, ch) -> tuple[dict, dict]:
    databases = warehouse.databases_to_back_up(ch)
    return warehouse.table_counts(ch, databases), control_plane.table_counts(settings)


def test_backup_wipe_restore(jobs_settings, ch):
    project = new_project(jobs_settings, "backed up", subscribers={"first@example.com": "weekly"})
    events = RawEvents(project_id=project)
    for n in range(50):
        events.create("like", dt.datetime(2020, 7, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=n), content_set="likes", value=1)
    events.insert(ch)
    full = _backup("full")
    assert full["kind"] == "full" and "raw" in full["databases"]

    for n in range(20):  # changes after the full backup: only these go into the incremental one
        events.create("like", dt.datetime(2020, 8, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=n), content_set="likes", value=1)
    events.insert(ch)
    with session_scope(jobs_settings) as session:
        session.add(RecapSubscription(project_id=project, email="second@example.com", frequency="monthly"))
    incremental = _backup("auto")
    assert incremental["kind"] == "incremental" and incremental["base"] == full["backup_id"]
    assert incremental["bytes"] < full["bytes"]
    assert [m.id for m in backups(jobs_settings.backup_dir)][-2:] == [full["backup_id"], incremental["backup_id"]]

    before_warehouse, before_control = _state(jobs_settings, ch)
    assert before_warehouse["raw.feedback_events"] >= 70
    assert before_control["recap_subscriptions"] >= 2

    # Wipe: every backed-up database, and every control-plane row.
    for database in incremental["databases"]:
        ch.command(f"DROP DATABASE `{database}` SYNC")
    with session_scope(jobs_settings) as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
    assert control_plane.table_counts(jobs_settings)["projects"] == 0

    summary = restore_backup(jobs_settings, "latest")
    assert summary.ok, summary.mismatches
    assert summary.backup_id == incremental["backup_id"]
    after_warehouse, after_control = _state(jobs_settings, ch)
    assert after_warehouse == before_warehouse
    assert after_control == before_control
    dispose_engines()
    with session_scope(jobs_settings) as session:
        emails = sorted(s.email for s in session.query(RecapSubscription).filter(RecapSubscription.project_id == project))
    assert emails == ["first@example.com", "second@example.com"]


def test_restore_names_a_missing_backup(jobs_settings):
    with pytest.raises(FileNotFoundError, match="no-such-backup"):
        restore_backup(jobs_settings, "no-such-backup")
