"""Leftovers: stale dbt tables, expired export files and old salts go; anything current stays."""

from __future__ import annotations

import datetime as dt

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import ExportFormat, ExportRequest, JobStatus
from pipelines.defs.retention import leftovers
from tests.jobs.conftest import new_project


def test_stale_dbt_tables_only_after_a_day(jobs_settings, ch):
    ch.command("CREATE DATABASE IF NOT EXISTS jobs_leftovers")
    for name in ("agg_x", "agg_x__dbt_tmp", "agg_x__dbt_backup"):
        ch.command(f"CREATE TABLE IF NOT EXISTS jobs_leftovers.{name} (a UInt8) ENGINE = MergeTree ORDER BY a")
    now = dt.datetime.now(dt.UTC)
    mine = lambda tables: [t for t in tables if t.startswith("jobs_leftovers.")]  # noqa: E731
    assert mine(leftovers.stale_dbt_tables(ch, now)) == []  # just made: a build may still use them
    later = now + dt.timedelta(days=2)
    stale = mine(leftovers.stale_dbt_tables(ch, later))
    assert stale == ["jobs_leftovers.agg_x__dbt_backup", "jobs_leftovers.agg_x__dbt_tmp"]
    leftovers.remove_tables(ch, stale)
    remaining = ch.query("SELECT name FROM system.tables WHERE database = 'jobs_leftovers'").result_rows
    assert remaining == [("agg_x",)]
    ch.command("DROP DATABASE jobs_leftovers SYNC")


def test_old_salts_and_expired_exports(jobs_settings, tmp_path):
    now = dt.datetime.now(dt.UTC)
    own_home = jobs_settings.model_copy(update={"home": tmp_path / "home"})  # other tests' salts stay out of it
    salts = own_home.home / "ingest" / "salts"
    salts.mkdir(parents=True, exist_ok=True)
    old, today = salts / "2020-01-01.salt", salts / f"{now:%Y-%m-%d}.salt"
    old.write_bytes(b"x" * 32)
    today.write_bytes(b"y" * 32)
    assert old in leftovers.old_salts(own_home, now)
    assert today not in leftovers.old_salts(own_home, now)

    project = new_project(jobs_settings, "exports expire")
    expired_file, current_file = tmp_path / "expired.csv", tmp_path / "current.csv"
    expired_file.write_text("a\n1\n")
    current_file.write_text("a\n2\n")
    with session_scope(jobs_settings) as session:
        expired = ExportRequest(project_id=project, format=ExportFormat.csv, status=JobStatus.done, path=str(expired_file), expires_at=now - dt.timedelta(minutes=1))
        current = ExportRequest(project_id=project, format=ExportFormat.csv, status=JobStatus.done, path=str(current_file), expires_at=now + dt.timedelta(days=1))
        session.add_all([expired, current])
        session.flush()
        ids = expired.id, current.id
    found = [e for e in leftovers.expired_exports(jobs_settings, now) if e.project_id == project]
    assert [e.request_id for e in found] == [ids[0]]
    leftovers.remove_exports(jobs_settings, found)
    leftovers.remove_paths(leftovers.old_salts(own_home, now))
    assert not expired_file.exists() and current_file.exists()
    assert not old.exists() and today.exists()
    with session_scope(jobs_settings) as session:
        assert session.get(ExportRequest, ids[0]).status is JobStatus.expired
        assert session.get(ExportRequest, ids[1]).status is JobStatus.done
