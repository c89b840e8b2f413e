"""The demo project's sample history: written once into a never-built warehouse, and built by the real
dbt project without a failing test, so a fresh stack's dashboards and overview have every set to show."""

from __future__ import annotations

import datetime as dt
import os
import subprocess

from feelback.demo import DEMO_SETS, ensure_demo
from feelback.demo_history import DAYS, history, seed_demo_history
from tests.fixtures.fresh_warehouse import fresh_warehouse


def test_the_history_is_written_once_and_builds(tmp_path):
    from feelback.control_plane.db import upgrade_control_plane
    from pipelines.dbt_env import dbt_env
    from pipelines.defs.dlt.control_plane import control_plane_pipeline, control_plane_source
    from pipelines.defs.dbt.project import DBT_EXECUTABLE, DBT_PROJECT_DIR

    with fresh_warehouse(tmp_path) as (_, settings, ch):
        upgrade_control_plane(settings)
        demo = ensure_demo(settings)  # the demo project and its sets, replicated as the first build does
        control_plane_pipeline(settings).run(control_plane_source(settings.control_db_url))
        written = seed_demo_history(ch, demo)
        assert written == len(history(demo.project_id, dt.datetime.now(dt.UTC).date())) > 20 * DAYS
        assert seed_demo_history(ch, demo) == 0, "a demo project with events is left alone"
        days = ch.query(
            "SELECT min(toDate(received_at)), max(toDate(received_at)) FROM raw.feedback_events WHERE project_id = {p:String}",
            parameters={"p": demo.project_id},
        ).result_rows[0]
        today = dt.datetime.now(dt.UTC).date()
        assert days == (today - dt.timedelta(days=DAYS), today - dt.timedelta(days=1))

        command = [
            DBT_EXECUTABLE, "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
        ]  # fmt: skip
        done = subprocess.run(command, env={**os.environ, **dbt_env(settings.clickhouse)}, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-4000:]  # every model built, every data test passed
        built = dict(ch.query(
            "SELECT content_set, count() FROM analytics.fct_signals WHERE project_id = {p:String} GROUP BY content_set",
            parameters={"p": demo.project_id},
        ).result_rows)  # fmt: skip
        assert set(built) == set(DEMO_SETS) and all(count > 0 for count in built.values()), built
        tagged = ch.command(
            "SELECT countIf(length(tags) > 0) FROM analytics.fct_signals WHERE project_id = {p:String} AND signal_type = 'message'",
            parameters={"p": demo.project_id},
        )
        assert int(tagged) == built["demo-form"]
