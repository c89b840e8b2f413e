"""The dbt build's cost and the stats API's speed at two history sizes.

    .venv/bin/python -m bench.pipeline [--events 200000] [--days 90] [--scale 4] [--no-stats]

For each history size (``events`` and ``events * scale``, spread over ``days`` and ``days * scale``
days, so the same number of events per day), on a fresh local server: ``dbt run`` of the whole
history (first build), then ``dbt run`` of each of three new days in turn (the last three days
before today, UTC), each of the same size (creates plus edits and revokes of signals up to 30 days
old). Prints wall times (the median of the three days, and each) and per-model times (medians). The
incremental day should cost about the same at both sizes: incremental models recompute what the
new day touches, not the history (target: 10M/1M ratio <= 1.5). One day alone swings by 10-20 %
from run to run with dbt's start-up, hence three.

Then, unless ``--no-stats``, the stats API on that warehouse (bench/stats_load's helpers): one
synthetic project registered in a control-plane database, widget reads with skewed popularity,
p50/p99 at 500 requests/s offered open loop and the maximum requests/s at 64 connections
(targets: p50 <= 5 ms, p99 <= 25 ms, >= 2,000 requests/s, 10M/1M p99 ratio <= 1.5).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import clickhouse_connect

from bench.stats_load import measure_stats_api, register_project, serve_api, widget_targets
from bench.synthetic import CONTENT_SETS, insert_events
from pipelines.dbt_env import dbt_env
from warehouse.local_server.process import ServerProcess
from warehouse.migrations import migrate

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
PROJECTS = [f"project-{n}" for n in range(5)]
CONTENTS = 500
EDIT_REACH_DAYS = 30
NEW_DAYS = 3


def dbt_run(server: ServerProcess, min_day: dt.date, max_day: dt.date, target: Path) -> tuple[float, dict[str, float]]:
    env = {**os.environ, **dbt_env_for(server), "DBT_LOG_PATH": str(target)}
    command = [
        DBT_EXECUTABLE, "run", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target), "--vars", json.dumps({"min_day": str(min_day), "max_day": str(max_day)}), "--quiet",
    ]
    began = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"dbt failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    results = json.loads((target / "run_results.json").read_text())["results"]
    return elapsed, {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}


def dbt_env_for(server: ServerProcess) -> dict[str, str]:
    from feelback.settings import parse_clickhouse_url

    return dbt_env(parse_clickhouse_url(server.url))


def seed(server: ServerProcess, target: Path) -> None:
    env = {**os.environ, **dbt_env_for(server), "DBT_LOG_PATH": str(target)}
    command = [DBT_EXECUTABLE, "seed", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
               "--target-path", str(target), "--quiet"]
    subprocess.run(command, env=env, check=True, capture_output=True)


def prepare_sources(client) -> None:
    """Empty control-plane and sentiment tables, as dlt and the sentiment asset would leave them."""
    from pipelines.defs.sentiment.scoring import ensure_table

    client.command("CREATE DATABASE IF NOT EXISTS raw_app")
    client.command(
        "CREATE TABLE IF NOT EXISTS raw_app.projects (id String, name String, timezone String, retention_days Int64, "
        "created_at DateTime64(6), updated_at DateTime64(6)) ENGINE = MergeTree ORDER BY id"
    )
    client.command(
        "CREATE TABLE IF NOT EXISTS raw_app.content_sets (id Int64, project_id String, key String, name String, "
        "signal_type String, config String, edit_window_seconds Int64, one_per_visitor Bool, public_stats Bool, "
        "created_at DateTime64(6), updated_at DateTime64(6)) ENGINE = MergeTree ORDER BY id"
    )
    ensure_table(client)


def insert_days(client, first: int, days: int, per_day: int, start: dt.date) -> None:
    insert_events(
        client, first, per_day * days, dt.datetime.combine(start, dt.time(), dt.UTC), dt.timedelta(days=days),
        per_day * EDIT_REACH_DAYS, projects=PROJECTS, contents=CONTENTS,
    )


def measure_api(server: ServerProcess, folder: Path) -> dict:
    """The stats API on this warehouse, reading the first synthetic project's widgets."""
    database_url = f"sqlite:///{folder / 'control.db'}"
    key = register_project(database_url, PROJECTS[0], CONTENT_SETS)
    env = {"FEELBACK_CLICKHOUSE_URL": server.url, "FEELBACK_DATABASE_URL": database_url, "FEELBACK_HOME": str(folder / "home")}
    targets = widget_targets(list(CONTENT_SETS), [f"/page-{n}" for n in range(CONTENTS)])
    with serve_api(env) as url:
        return measure_stats_api(url, key, targets, rate=500, seconds=10, connections=64)


def measure(events: int, days: int, stats: bool) -> dict:
    per_day = events // days
    today = dt.datetime.now(dt.UTC).date()
    first_day, last_day = today - dt.timedelta(days=days + NEW_DAYS), today - dt.timedelta(days=NEW_DAYS + 1)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as folder:
        server = ServerProcess(data_dir=Path(folder) / "clickhouse").start()
        try:
            client = clickhouse_connect.get_client(
                host=server.host, port=server.http_port, username="default", password=server.password
            )
            migrate(client)
            prepare_sources(client)
            insert_days(client, 0, days, per_day, first_day)
            seed(server, Path(folder) / "target-seed")
            full, _ = dbt_run(server, first_day, last_day, Path(folder) / "target-full")
            day_runs = []
            for n in range(NEW_DAYS):
                day = last_day + dt.timedelta(days=n + 1)
                insert_days(client, per_day * (days + n), 1, per_day, day)
                day_runs.append(dbt_run(server, day, day, Path(folder) / f"target-day-{n}"))
            (signals,) = client.query("SELECT count() FROM analytics.fct_signals").result_rows[0]
            api = measure_api(server, Path(folder)) if stats else None
        finally:
            server.stop()
    days_seconds = [seconds for seconds, _ in day_runs]
    models = {model: statistics.median(run[model] for _, run in day_runs) for model in day_runs[0][1]}
    return {"events": per_day * days, "signals": signals, "full": full, "day": statistics.median(days_seconds),
            "days": days_seconds, "models": models, "api": api}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--no-stats", action="store_true", help="skip the stats API measurements")
    args = parser.parse_args()

    runs = [measure(args.events, args.days, not args.no_stats),
            measure(args.events * args.scale, args.days * args.scale, not args.no_stats)]  # fmt: skip
    print(f"{'history events':>15} {'live signals':>13} {'first build s':>14} {'+1 day s (median)':>18}  each new day s")
    for run in runs:
        each = ", ".join(f"{seconds:.1f}" for seconds in run["days"])
        print(f"{run['events']:>15,} {run['signals']:>13,} {run['full']:>14.1f} {run['day']:>18.1f}  {each}")
    print(f"+1 day ratio large/small: {runs[1]['day'] / runs[0]['day']:.2f} (medians; target <= 1.5); day by day: "
          + ", ".join(f"{large / small:.2f}" for small, large in zip(runs[0]["days"], runs[1]["days"], strict=True)))  # fmt: skip
    print("\nper-model seconds of the +1 day build, medians (small history, large history):")
    for model in runs[0]["models"]:
        print(f"  {model:<28} {runs[0]['models'][model]:>6.2f} {runs[1]['models'].get(model, float('nan')):>6.2f}")
    print("(dbt's own start-up and parse, ~10-30 s, are in the wall times, not in the per-model seconds)")
    if args.no_stats:
        return
    print("\nstats API after the +1 day build (500 req/s offered open loop; closed loop at 64 connections):")
    print(f"{'history events':>15} {'p50 ms':>7} {'p99 ms':>7} {'max req/s':>10} {'/healthz p99 ms':>16} {'/healthz req/s':>15}")
    for run in runs:
        opened, closed = run["api"]["open_loop"], run["api"]["closed_loop"]
        baseline = run["api"].get("baseline", {})
        print(f"{run['events']:>15,} {opened['p50_ms']:>7.2f} {opened['p99_ms']:>7.2f} {closed['max_rps']:>10,.0f} "
              f"{baseline.get('open_loop', {}).get('p99_ms', float('nan')):>16.2f} "
              f"{baseline.get('closed_loop', {}).get('max_rps', float('nan')):>15,.0f}   statuses {opened['statuses']}")  # fmt: skip
    ratio = runs[1]["api"]["open_loop"]["p99_ms"] / runs[0]["api"]["open_loop"]["p99_ms"]
    print(f"p99 ratio large/small: {ratio:.2f} (target <= 1.5); targets: p50 <= 5 ms, p99 <= 25 ms, >= 2,000 req/s")


if __name__ == "__main__":
    main()
