"""Rebuilding the aggregates after an erasure took signals out of the facts.

Every aggregate is a sum over ``fct_signals``, which keeps its whole history (retention removes raw
events, not facts), so rebuilding the models downstream of it from scratch gives exactly the numbers
without the erased rows, for every day they touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from clickhouse_connect.driver.client import Client

from feelback.settings import Settings
from pipelines.dbt_env import dbt_env

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"
FACTS_MODEL = "fct_signals"
MARTS = "analytics"


class RebuildError(RuntimeError):
    pass


def facts_exist(client: Client) -> bool:
    return bool(client.command(f"EXISTS TABLE {MARTS}.{FACTS_MODEL}"))


def rebuild_aggregates(settings: Settings) -> list[str]:
    """``dbt run --full-refresh`` of every model downstream of the facts; returns the command run."""
    command = [
        str(Path(sys.executable).with_name("dbt")),
        "run",
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--select", f"{FACTS_MODEL}+",
        "--exclude", FACTS_MODEL,
        "--full-refresh",
        # Its own target folder, so it never races a concurrent build for dbt's partial-parse files.
        "--target-path", str(settings.home / "dbt" / "retention-target"),
        "--quiet",
    ]
    env = {**os.environ, **dbt_env(settings.clickhouse), "DBT_LOG_PATH": str(settings.home / "dbt" / "logs")}
    done = subprocess.run(command, env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RebuildError(f"dbt rebuild of the aggregates failed ({done.returncode}): {(done.stdout + done.stderr)[-2000:]}")
    return command[1:]
