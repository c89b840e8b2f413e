"""The dbt build's cost: a first build of a history, then one new day, at two history sizes.

    .venv/bin/python -m bench.pipeline [--events 200000] [--days 90] [--scale 4]

For each history size (``events`` and ``events * scale``, spread over ``days`` days), on a fresh
local server: ``dbt run`` of the whole history (first build), then ``dbt run`` of one new day of
the same size each time (creates plus edits and revokes of signals up to 30 days old). Prints wall
times and per-model times. The incremental day should cost about the same at both sizes:
incremental models recompute what the new day touches, not the history.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import clickhouse_connect

from pipelines.dbt_env import dbt_env
from warehouse.local_server.process import ServerProcess
from warehouse.migrations import migrate

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
START = dt.date(2025, 1, 1)
SETS = "['votes', 'stars', 'likes', 'reactions', 'notes']"
TYPES = "['yesno', 'rating', 'like', 'reaction', 'message']"

# Events numbered [first, last): every attribute of a signal derives from the number of its create,
# so an edit or revoke (number n) of signal s carries s's project, set, content and visitor.
EVENTS = """
INSERT INTO raw.feedback_events
    (event_id, idempotency_key, project_id, content_set, content_key, signal_id, operation, signal_type, value,
     rating_scale, reaction, message, tags, contact_email, form_fields, visitor_id, is_bot, occurred_at, received_at)
SELECT
    generateUUIDv4(number) AS event_id,
    toString(number) AS idempotency_key,
    concat('project-', toString(s % 5)) AS project_id,
    {sets}[t + 1] AS content_set,
    concat('/page-', toString(cityHash64(s, 2) % 500)) AS content_key,
    reinterpretAsUUID(reverse(unhex(leftPad(hex(s), 32, '0')))) AS signal_id,
    op AS operation,
    {types}[t + 1] AS signal_type,
    multiIf(op = 'revoke', NULL, t = 0, if(cityHash64(number, 5) % 2 = 0, 1, -1), t = 1, 1 + cityHash64(number, 5) % 5,
            t = 2, 1, NULL) AS value,
    if(t = 1, 5, 0) AS rating_scale,
    if(t = 3 AND op != 'revoke', ['thumbs_up', 'heart', 'confused', 'eyes'][1 + cityHash64(number, 6) % 4], '') AS reaction,
    if(t = 4 AND op != 'revoke', ['Great page, thanks!', 'This is wrong and confusing.', 'ok'][1 + cityHash64(number, 7) % 3], '') AS message,
    [] AS tags, '' AS contact_email, map() AS form_fields,
    concat('v', toString(cityHash64(s, 3) % 50000)) AS visitor_id,
    cityHash64(number, 8) % 100 = 0 AS is_bot,
    received AS occurred_at,
    received AS received_at
FROM
(
    SELECT
        number,
        multiIf(number < {first} + 100 OR cityHash64(number, 4) % 10 < 8, 'create',
                cityHash64(number, 4) % 10 = 8, 'edit', 'revoke') AS op,
        if(op = 'create', number, greatest(toInt64(number) - 1 - toInt64(cityHash64(number, 9) % {reach}), 0)) AS s,
        cityHash64(s, 1) % 5 AS t,
        toDateTime64('{start}', 3, 'UTC') + toIntervalMillisecond(intDiv(number * {day_ms}, {per_day})) AS received
    FROM numbers({first}, {count})
)
"""


def insert_events(client, first: int, count: int, per_day: int) -> None:
    client.command(
        EVENTS.format(
            sets=SETS, types=TYPES, first=first, count=count, per_day=per_day, day_ms=86_400_000,
            reach=per_day * 30, start=START.isoformat(),
        )
    )


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


def measure(events: int, days: int) -> dict:
    per_day = events // days
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as folder:
        server = ServerProcess(data_dir=Path(folder) / "clickhouse").start()
        try:
            client = clickhouse_connect.get_client(
                host=server.host, port=server.http_port, username="default", password=server.password
            )
            migrate(client)
            prepare_sources(client)
            insert_events(client, 0, per_day * days, per_day)
            seed(server, Path(folder) / "target-seed")
            last = START + dt.timedelta(days=days - 1)
            full, _ = dbt_run(server, START, last, Path(folder) / "target-full")
            insert_events(client, per_day * days, per_day, per_day)
            new_day = last + dt.timedelta(days=1)
            incremental, models = dbt_run(server, new_day, new_day, Path(folder) / "target-day")
            (signals,) = client.query("SELECT count() FROM analytics.fct_signals").result_rows[0]
        finally:
            server.stop()
    return {"events": per_day * days, "signals": signals, "full": full, "day": incremental, "models": models}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--scale", type=int, default=4)
    args = parser.parse_args()

    runs = [measure(args.events, args.days), measure(args.events * args.scale, args.days * args.scale)]
    print(f"{'history events':>15} {'live signals':>13} {'first build s':>14} {'+1 day s':>9}")
    for run in runs:
        print(f"{run['events']:>15,} {run['signals']:>13,} {run['full']:>14.1f} {run['day']:>9.1f}")
    print("\nper-model seconds of the +1 day build (small history, large history):")
    for model in runs[0]["models"]:
        print(f"  {model:<28} {runs[0]['models'][model]:>6.2f} {runs[1]['models'].get(model, float('nan')):>6.2f}")
    print("(dbt's own start-up and parse, ~10-30 s, are in the wall times, not in the per-model seconds)")


if __name__ == "__main__":
    main()
