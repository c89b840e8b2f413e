"""Ingest benchmark on the embedded stack (prints figures; not a test).

    .venv/bin/python bench/ingest.py [--seconds 10] [--connections 64] [--batch-connections 16] [--rounds 3] [--workers 1]

Starts a local ClickHouse server and the API (``ingest_api.server``: uvicorn, ``--workers``
processes with a listening socket each, as ``feelback up`` runs ``FEELBACK_API_WORKERS``) under
``bench/.data/``, loads
them from a separate process over loopback with ``wrk`` (``apt-get install wrk``), and prints:

(a) single-signal creates/s at 64 connections vs a bare FastAPI endpoint returning 200 under the
    same uvicorn options (target ratio >= 0.6);
(b) events/s through ``POST /v1/batch`` at 100 operations per request (16 connections), acknowledged and queryable
    in ClickHouse, vs inserting the same number of rows directly with clickhouse-connect ``insert``
    from Python rows, 10,000 rows per insert (target ratio >= 0.25; 100-row inserts shown too);
(c) p50/p99 from acknowledgement to queryable in ClickHouse at a steady 200 creates/s
    (target p99 <= 2 s).

(a) and (b) each start with an unmeasured 3 s warm-up of every server they load (and 20,000 direct
rows for (b)); with ``--workers`` > 1, (b) shows how evenly the workers shared the load.

Under (a) and (b) it also prints the server processes' CPU time per request or event (from
``/proc``): on a machine shared with other work the throughput ratios swing with the load, while
CPU per request says what each process costs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fastapi import FastAPI  # noqa: E402

from warehouse.local_server.process import child_pids, free_port  # noqa: E402

WARMUP_SECONDS = 3
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"

# The baseline for (a): uvicorn runs it as ``ingest:bare_app`` from this folder.
bare_app = FastAPI()


@bare_app.post("/v1/signals")
async def bare_endpoint() -> dict[str, bool]:
    return {"ok": True}


# What both wrk scripts share: an authenticated JSON POST and a thread id for unique keys.
LUA_PREAMBLE = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Feelback-Key"] = "{key}"
wrk.headers["User-Agent"] = "{ua}"
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
"""

CREATE_LUA = LUA_PREAMBLE + """
request = function()
  counter = counter + 1
  local id = "{nonce}-" .. tid .. "-" .. counter
  local body = '{{"content_set":"stars","content_key":"/bench/' .. (counter % 50) .. '","value":5,'
    .. '"anonymous_id":"visitor-' .. (counter % 5000) .. '","idempotency_key":"' .. id .. '"}}'
  return wrk.format(nil, nil, nil, body)
end
"""

BATCH_LUA = LUA_PREAMBLE + """
request = function()
  local ops = {{}}
  for i = 1, {size} do
    counter = counter + 1
    ops[i] = '{{"op":"create","content_set":"stars","content_key":"/batch/' .. (counter % 50) .. '","value":4,'
      .. '"anonymous_id":"visitor-' .. (counter % 5000) .. '","idempotency_key":"{nonce}-' .. tid .. '-' .. counter .. '"}}'
  end
  return wrk.format(nil, nil, nil, '{{"operations":[' .. table.concat(ops, ",") .. ']}}')
end
"""


def wrk(url: str, script: str, seconds: int, connections: int) -> tuple[float, int, int]:
    """Run wrk; returns (requests/s, requests, non-2xx responses)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        output = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", file.name, url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(file.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, total, int(bad.group(1)) if bad else 0


class Uvicorn:
    def __init__(self, app: str, env: dict[str, str], app_dir: Path = REPO, workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "ingest_api.server", "--app-dir", str(app_dir), "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", str(workers), "--log-level", "warning", *app.split()]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=REPO, env=env)
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/docs", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"{app} did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far (Linux ``/proc``) of a process and its live children (uvicorn's
    workers), threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in child_pids(pid))


def worker_cpu(pid: int) -> list[float]:
    """CPU seconds of each of uvicorn's worker processes (none with one worker: it serves itself)."""
    return [cpu_seconds(child) for child in child_pids(pid)]


def count_rows(client, project_id: str, prefix: str) -> int:
    return client.query(
        "SELECT count() FROM raw.feedback_events WHERE project_id = {p:String} AND startsWith(idempotency_key, {k:String})",
        parameters={"p": project_id, "k": prefix},
    ).result_rows[0][0]


def wait_rows(client, project_id: str, prefix: str, expected: int, timeout: float = 120) -> float:
    began = time.monotonic()
    while count_rows(client, project_id, prefix) < expected:
        if time.monotonic() - began > timeout:
            raise RuntimeError(f"only {count_rows(client, project_id, prefix)} of {expected} rows arrived")
        time.sleep(0.05)
    return time.monotonic() - began


def direct_insert(client, rows: int, chunk: int = 10_000) -> float:
    """Rows/s of clickhouse-connect insert from Python rows straight into raw.feedback_events."""
    from ingest_api.writer import COLUMNS, TABLE

    now = dt.datetime.now(dt.UTC)
    nonce = uuid.uuid4().hex[:8]
    data = [
        [uuid.uuid4(), f"direct-{nonce}-{i}", "bench-direct", "stars", f"/batch/{i % 50}", uuid.uuid4(), "create",
         "rating", 4, 5, "", "", [], "", {}, f"visitor-{i % 5000}", False, now, now]
        for i in range(rows)
    ]  # fmt: skip
    began = time.perf_counter()
    for start in range(0, rows, chunk):
        client.insert(TABLE, data[start : start + chunk], column_names=COLUMNS)
    return rows / (time.perf_counter() - began)


async def ack_to_queryable(api_url: str, key: str, client, project_id: str, seconds: int, rate: int) -> list[float]:
    """Send ``rate`` creates/s for ``seconds``; seconds from each ack until a poller sees the row."""
    import httpx

    nonce = f"lat-{uuid.uuid4().hex[:8]}"
    acked: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set() or len(seen) < len(acked):
            rows = client.query(
                "SELECT idempotency_key FROM raw.feedback_events WHERE project_id = {p:String} AND startsWith(idempotency_key, {k:String})",
                parameters={"p": project_id, "k": nonce},
            ).result_rows
            now = time.monotonic()
            for (k,) in rows:
                seen.setdefault(k, now)
            if stop.is_set() and time.monotonic() - stopped_at > 30:
                return
            time.sleep(0.02)

    stopped_at = 0.0
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    headers = {"X-Feelback-Key": key, "User-Agent": UA}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=10) as http:

        async def one(i: int) -> None:
            k = f"{nonce}-{i}"
            body = {"content_set": "stars", "content_key": "/latency", "value": 3, "anonymous_id": f"visitor-{i}", "idempotency_key": k}
            response = await http.post("/v1/signals", json=body)
            if response.status_code == 201:
                acked[k] = time.monotonic()

        tasks = []
        began = time.monotonic()
        for i in range(seconds * rate):
            await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    stopped_at = time.monotonic()
    stop.set()
    poller.join()
    return sorted(seen[k] - acked[k] for k in acked if k in seen) + [float("inf")] * sum(k not in seen for k in acked)


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64, help="connections of (a)")
    parser.add_argument("--batch-connections", type=int, default=16, help="connections of (b)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of both servers (FEELBACK_API_WORKERS)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")

    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.models import ContentSet
    from feelback.control_plane.projects import create_project
    from feelback.settings import Settings
    from warehouse.client import get_client
    from warehouse.local_server.process import ServerProcess
    from warehouse.migrations import migrate

    work = REPO / "bench" / ".data" / f"ingest-{int(time.time())}"
    server = ServerProcess(data_dir=work / "clickhouse").start()
    try:
        settings = Settings(home=work / "home", clickhouse_url=server.url)
        client = get_client(settings)
        migrate(client)
        upgrade_control_plane(settings)
        with session_scope(settings) as session:
            created = create_project(session, "Bench")
            session.add(ContentSet(project_id=created.project.id, key="stars", signal_type="rating", config={}))
        project_id, key = created.project.id, created.public_key
        env = {
            **os.environ,
            "FEELBACK_HOME": str(settings.home),
            "FEELBACK_CLICKHOUSE_URL": server.url,
            "FEELBACK_RATE_LIMIT_PROJECT_PER_SECOND": "100000000",
            "FEELBACK_RATE_LIMIT_VISITOR_PER_MINUTE": "100000000",
            "FEELBACK_INGEST_MAX_BODY_BYTES": str(4 * 1024 * 1024),
        }
        fmt = {"key": key, "ua": UA}

        # Both servers stay up and runs alternate, so a ratio compares runs under the same load
        # (the machine is shared); each figure is the median of the rounds. Each part starts with an
        # unmeasured warm-up run of WARMUP_SECONDS (first-use costs, the previous part's merges).
        bare = Uvicorn("ingest:bare_app", env, app_dir=REPO / "bench", workers=args.workers)
        api = Uvicorn("--factory ingest_api.app:create_app", env, workers=args.workers)
        try:
            bare_rates, create_rates, bad, bare_cpu, create_cpu = [], [], 0, [], []
            wrk(f"{bare.url}/v1/signals", CREATE_LUA.format(nonce="warm-bare", **fmt), WARMUP_SECONDS, args.connections)
            wrk(f"{api.url}/v1/signals", CREATE_LUA.format(nonce="warm-create", **fmt), WARMUP_SECONDS, args.connections)
            for _ in range(args.rounds):
                began_cpu = cpu_seconds(bare.process.pid)
                rate, requests, _ = wrk(f"{bare.url}/v1/signals", CREATE_LUA.format(nonce="bare", **fmt), args.seconds, args.connections)
                bare_rates.append(rate)
                bare_cpu.append((cpu_seconds(bare.process.pid) - began_cpu) / requests)
                nonce = f"c{uuid.uuid4().hex[:8]}"
                began_cpu = cpu_seconds(api.process.pid)
                rate, creates, failed = wrk(f"{api.url}/v1/signals", CREATE_LUA.format(nonce=nonce, **fmt), args.seconds, args.connections)
                create_rates.append(rate)
                bad += failed
                wait_rows(client, project_id, nonce, creates - failed)
                create_cpu.append((cpu_seconds(api.process.pid) - began_cpu) / creates)  # with draining them
            bare_rate, create_rate = statistics.median(bare_rates), statistics.median(create_rates)
            ratios = [c / b for b, c in zip(bare_rates, create_rates, strict=True)]
            print(f"(a) creates/s at {args.connections} connections: {create_rate:,.0f} (non-2xx: {bad}); bare FastAPI "
                  f"endpoint: {bare_rate:,.0f}; ratio {statistics.median(ratios):.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)}; "
                  "target >= 0.6)", flush=True)  # fmt: skip
            cpu_ratios = [b / c for b, c in zip(bare_cpu, create_cpu, strict=True)]
            print(f"    server CPU per request: bare {statistics.median(bare_cpu) * 1e6:.0f} us, create "
                  f"{statistics.median(create_cpu) * 1e6:.0f} us; ratio {statistics.median(cpu_ratios):.2f} "
                  "(the ratio (a) tends to when each server has a core to itself; steadier than (a) on a shared machine)", flush=True)  # fmt: skip

            batch_rates, queryable_rates, direct_rates, small_rates, bad_batches, event_cpu, warehouse_cpu, busiest = [], [], [], [], 0, [], [], []
            wrk(f"{api.url}/v1/batch", BATCH_LUA.format(nonce="warm-batch", size=100, **fmt), WARMUP_SECONDS, args.batch_connections)
            direct_insert(client, 20_000)
            for _ in range(args.rounds):
                nonce = f"b{uuid.uuid4().hex[:8]}"
                began, began_cpu, began_warehouse = time.monotonic(), cpu_seconds(api.process.pid), cpu_seconds(server.process.pid)
                began_workers = worker_cpu(api.process.pid)
                rate, batches, failed = wrk(f"{api.url}/v1/batch", BATCH_LUA.format(nonce=nonce, size=100, **fmt), args.seconds, args.batch_connections)
                used = [now - then for now, then in zip(worker_cpu(api.process.pid), began_workers, strict=True)]
                busiest.append(max(used) / sum(used) if used and sum(used) else 1.0)
                events = (batches - failed) * 100
                bad_batches += failed
                wait_rows(client, project_id, nonce, events)
                batch_rates.append(rate * 100)
                queryable_rates.append(events / (time.monotonic() - began))
                event_cpu.append((cpu_seconds(api.process.pid) - began_cpu) / events)
                warehouse_cpu.append((cpu_seconds(server.process.pid) - began_warehouse) / events)
                direct_rates.append(direct_insert(client, events))
                small_rates.append(direct_insert(client, min(events, 20_000), chunk=100))
            ratios = [q / d for q, d in zip(queryable_rates, direct_rates, strict=True)]
            print(f"(b) batches of 100 at {args.batch_connections} connections: {statistics.median(batch_rates):,.0f} events/s acknowledged, "
                  f"{statistics.median(queryable_rates):,.0f} events/s queryable (non-2xx batches: {bad_batches}); direct "
                  f"clickhouse-connect insert of as many rows: {statistics.median(direct_rates):,.0f} rows/s in inserts of 10,000 rows; "
                  f"ratio {statistics.median(ratios):.2f} (rounds: {', '.join(f'{r:.2f} = {q:,.0f}/{d:,.0f}' for r, q, d in zip(ratios, queryable_rates, direct_rates))}; target >= 0.25); "
                  f"in inserts of 100 rows: {statistics.median(small_rates):,.0f} rows/s", flush=True)  # fmt: skip
            print(f"    CPU per event: API server {statistics.median(event_cpu) * 1e6:.0f} us (draining included), ClickHouse "
                  f"server {statistics.median(warehouse_cpu) * 1e6:.0f} us (its inserts and merges)", flush=True)  # fmt: skip
            if args.workers > 1:
                print(f"    the busiest API worker's share of the API's CPU per round: {', '.join(f'{b:.2f}' for b in busiest)} "
                      "(the kernel spreads wrk's connections over the workers' sockets; a share near 1 left the others idle)", flush=True)  # fmt: skip

            latencies = asyncio.run(ack_to_queryable(api.url, key, client, project_id, args.seconds, 200))
            print(f"(c) ack -> queryable at 200 creates/s over {len(latencies)} signals: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
                  f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms (target p99 <= 2000 ms)")  # fmt: skip
        finally:
            bare.stop()
            api.stop()
    finally:
        if server.process.poll() is not None:
            print(f"the ClickHouse server exited with {server.process.returncode}: {server.process.stderr.read()[-3000:]}")
        else:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
