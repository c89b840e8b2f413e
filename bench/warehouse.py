"""Local ClickHouse server vs chDB in-process: insert throughput and point-query latency.

    .venv/bin/python -m bench.warehouse [--rows 1000000] [--queries 500]

Inserts the same rows of the raw event shape through the server's HTTP interface (clickhouse-connect)
and through clickhouse-connect's in-process ``chdb://`` client, in one run, and prints rows/s and their
ratio (target >= 0.9); then p50/p99 of a point query (one project and content, spread over all
contents) in-process, over HTTP and over native TCP (clickhouse-driver), 500 requests each
(target p50 <= 3 ms).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import clickhouse_connect
import numpy as np
import pyarrow as pa
from clickhouse_driver import Client as NativeClient

from warehouse.local_server.process import ServerProcess
from warehouse.migrations import available_migrations

PROJECTS, SETS, CONTENTS = 20, 5, 2000


def raw_events(rows: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    project = rng.integers(0, PROJECTS, rows)
    content = rng.zipf(1.3, rows) % CONTENTS
    start = np.datetime64("2026-01-01T00:00:00", "ms")
    received = start + np.sort(rng.integers(0, 300 * 86_400_000, rows)).astype("timedelta64[ms]")
    types = rng.integers(1, 7, rows)
    signal_ids = [str(uuid.UUID(int=int(x))) for x in rng.integers(1, 2**62, rows)]
    return pa.table(
        {
            "event_id": pa.array([str(uuid.uuid4()) for _ in range(rows)]),
            "idempotency_key": pa.array([f"k{i}" for i in range(rows)]),
            "project_id": pa.array([f"project-{p}" for p in project]),
            "content_set": pa.array([f"set-{p % SETS}" for p in project]),
            "content_key": pa.array([f"/docs/page-{c}" for c in content]),
            "signal_id": pa.array(signal_ids),
            "operation": pa.array(np.where(rng.random(rows) < 0.9, "create", "edit")),
            "signal_type": pa.array(np.array(["yesno", "updown", "rating", "like", "reaction", "message"])[types - 1]),
            "value": pa.array(rng.integers(1, 6, rows).astype("int16")),
            "rating_scale": pa.array(np.where(types == 3, 5, 0).astype("uint8")),
            "reaction": pa.array(np.where(types == 5, "👍", "")),
            "message": pa.array(np.where(types == 6, "Clear and helpful page, thanks", "")),
            "visitor_id": pa.array([f"v{v}" for v in rng.integers(0, 200_000, rows)]),
            "is_bot": pa.array(rng.random(rows) < 0.01),
            "occurred_at": pa.array(received, pa.timestamp("ms", tz="UTC")),
            "received_at": pa.array(received, pa.timestamp("ms", tz="UTC")),
        }
    )


def create_schema(client) -> None:
    for migration in available_migrations():
        for statement in migration.statements:
            client.command(statement)


def timed_insert(client, table: pa.Table, batch_rows: int = 100_000) -> float:
    client.command("TRUNCATE TABLE raw.feedback_events")
    began = time.perf_counter()
    for offset in range(0, table.num_rows, batch_rows):
        client.insert_arrow("raw.feedback_events", table.slice(offset, batch_rows))
    elapsed = time.perf_counter() - began
    assert client.command("SELECT count() FROM raw.feedback_events") == table.num_rows
    return table.num_rows / elapsed


def latencies(run, queries: int) -> tuple[float, float]:
    samples = []
    for i in range(queries):
        began = time.perf_counter()
        run(i)
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


POINT_QUERY = (
    "SELECT count(), avg(value) FROM raw.feedback_events "
    "WHERE project_id = %(project)s AND content_set = %(set)s AND content_key = %(content)s"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="feelback-bench-"))
    table = raw_events(args.rows)
    server = ServerProcess(data_dir=work / "server").start()
    try:
        http = clickhouse_connect.get_client(host=server.host, port=server.http_port, password=server.password)
        local = clickhouse_connect.get_client(dsn=f"chdb://{work / 'inprocess'}")
        create_schema(http)
        create_schema(local)
        in_process = timed_insert(local, table)
        over_http = timed_insert(http, table)
        print(f"insert {args.rows:,} rows  in-process chdb:// {in_process:,.0f} rows/s")
        print(f"insert {args.rows:,} rows  server HTTP        {over_http:,.0f} rows/s")
        print(f"ratio server/in-process                {over_http / in_process:.2f}  (target >= 0.9)")

        # Steady state for the point queries: background merges would have merged the insert batches.
        for client in (local, http):
            client.command("OPTIMIZE TABLE raw.feedback_events FINAL")
        native = NativeClient(host=server.host, port=server.native_port, password=server.password)

        def point(i: int) -> dict:
            return {"project": f"project-{i % PROJECTS}", "set": f"set-{(i % PROJECTS) % SETS}", "content": f"/docs/page-{(i * 37) % CONTENTS}"}

        http_point = POINT_QUERY.replace("%(project)s", "{project:String}").replace("%(set)s", "{set:String}").replace(
            "%(content)s", "{content:String}"
        )
        p50, p99 = latencies(lambda i: local.query(http_point, parameters=point(i)), args.queries)
        print(f"point query in-process chdb://  p50 {p50:.2f} ms  p99 {p99:.2f} ms  (the engine alone)")
        p50, p99 = latencies(lambda i: http.query(http_point, parameters=point(i)), args.queries)
        print(f"point query HTTP    p50 {p50:.2f} ms  p99 {p99:.2f} ms  (target p50 <= 3 ms)")
        p50, p99 = latencies(lambda i: native.execute(POINT_QUERY, point(i)), args.queries)
        print(f"point query native  p50 {p50:.2f} ms  p99 {p99:.2f} ms  (target p50 <= 3 ms)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
