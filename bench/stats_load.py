"""Stats API load: open-loop latency at a fixed offered rate, and closed-loop maximum requests/s.

    .venv/bin/python -m bench.stats_load [--events 200000] [--rate 500] [--seconds 10] [--connections 64]
    .venv/bin/python -m bench.stats_load --base-url http://127.0.0.1:8000 --key fb_pk_... --target /v1/stats/votes/page-1 ...

Alone, it builds a world under a temporary folder: a local ClickHouse server, a project with one
content set per type, ``--events`` raw events over 90 days (skewed popularity, edits, revokes), a
dbt build, then a few thousand events after the build (so reads merge a live delta), and the API
as a uvicorn subprocess. With ``--base-url`` it loads an API that is already running.

Open loop (an asyncio client, aiohttp: httpx tops out near 200 requests/s on this 2-core machine):
requests are scheduled at ``rate``/s (Poisson arrivals, or fixed intervals) whatever the answers
do, and each latency runs from the *scheduled* send time, so a stall is not hidden by the
generator waiting for it (no coordinated omission); the generator's own send lag is reported.
Closed loop: ``connections`` clients, each sending its next request as soon as the previous answer
arrives (wrk when installed, else aiohttp in several processes, so the client is not the
bottleneck); requests/s is the server's maximum at that concurrency. Both also run on the app's
``/healthz`` as a baseline: what the framework alone does on the same machine at the same moment.
Targets are read with Zipf-like popularity, after one warm-up read of each.

The pipeline bench (bench/pipeline.py) imports ``measure_stats_api``, ``register_project``,
``widget_targets`` and ``serve_api``.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import aiohttp
import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

KEY_HEADER = "X-Feelback-Key"
# What a widget shows most: one content's all-time and recent numbers; listing pages and rankings less.
WINDOW_MIX = (("all", 5), ("7d", 2), ("30d", 2), ("month", 1))


# --- targets --------------------------------------------------------------------------------------


def widget_targets(sets: Sequence[str], contents: Sequence[str], windows: Sequence[tuple[str, int]] = WINDOW_MIX) -> list[str]:
    """Request paths in popularity order (most read first): per content reads of every set and window
    (weighted), then each set's totals, top 10 and a 20-content batch. ``contents`` most popular first."""
    paths = []
    for content in contents:
        for content_set in sets:
            for window, weight in windows:
                paths += [f"/v1/stats/{content_set}/{content}?window={window}"] * weight
    for content_set in sets:
        batch = "&".join(f"content={content}" for content in contents[:20])
        paths += [f"/v1/stats/{content_set}?window=30d", f"/v1/stats/{content_set}/top?window=7d&by=count&limit=10",
                  f"/v1/stats/{content_set}/batch?window=all&{batch}"]  # fmt: skip
    return paths


class Popularity:
    """Picks targets with Zipf-like skew: the k-th target with weight 1 / k**skew (skew 0: uniformly)."""

    def __init__(self, targets: Sequence[str], skew: float, seed: int):
        self.targets = list(targets)
        weights = [1 / (rank + 1) ** skew for rank in range(len(self.targets))]
        total = sum(weights)
        self.cumulative = [0.0] * len(weights)
        running = 0.0
        for i, weight in enumerate(weights):
            running += weight / total
            self.cumulative[i] = running
        self.rng = random.Random(seed)

    def pick(self) -> str:
        return self.targets[min(bisect.bisect_left(self.cumulative, self.rng.random()), len(self.targets) - 1)]


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _client(base_url: str, api_key: str, connections: int) -> aiohttp.ClientSession:
    # aiohttp rather than httpx: on a 2-core machine httpx's client tops out near 200 requests/s,
    # below the rate under test, and would measure itself.
    return aiohttp.ClientSession(
        base_url,
        headers={KEY_HEADER: api_key},
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def _get(client: aiohttp.ClientSession, path: str) -> int:
    try:
        async with client.get(path) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return 599


# --- open loop ------------------------------------------------------------------------------------


async def _open_loop(base_url: str, api_key: str, targets: Sequence[str], rate: float, seconds: float,
                     poisson: bool, skew: float, warmup: float) -> dict:  # fmt: skip
    popularity = Popularity(targets, skew, seed=1)
    gaps = random.Random(2)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lags: list[float] = []
    loop = asyncio.get_running_loop()

    async with _client(base_url, api_key, connections=256) as client:

        async def fire(scheduled: float, path: str, measured: bool) -> None:
            if measured:
                lags.append(loop.time() - scheduled)
            status = await _get(client, path)
            if measured:
                latencies.append(loop.time() - scheduled)
                statuses[status] += 1

        tasks = set()
        began = loop.time() + 0.05
        offset = 0.0
        while offset < warmup + seconds:
            scheduled = began + offset
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(fire(scheduled, popularity.pick(), measured=offset >= warmup))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            offset += gaps.expovariate(rate) if poisson else 1 / rate
        await asyncio.gather(*tasks)
        elapsed = loop.time() - began - warmup

    ok = sum(count for status, count in statuses.items() if status < 400)
    return {
        "offered_rps": rate,
        "schedule": "poisson" if poisson else "fixed",
        "requests": len(latencies),
        "answered_rps": round(len(latencies) / elapsed, 1),
        "ok": ok,
        "statuses": dict(statuses),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p90_ms": round(percentile(latencies, 90) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "max_ms": round(max(latencies, default=float("nan")) * 1000, 2),
        # how late the generator itself sent (included in the latencies; large values mean the
        # client machine, not the API, was saturated)
        "send_lag_p99_ms": round(percentile(lags, 99) * 1000, 2),
    }


# --- closed loop ----------------------------------------------------------------------------------


async def _closed_loop(base_url: str, api_key: str, targets: Sequence[str], connections: int, seconds: float,
                       skew: float, seed: int) -> dict:  # fmt: skip
    popularity = Popularity(targets, skew, seed=seed)
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    async with _client(base_url, api_key, connections) as client:
        deadline = loop.time() + seconds

        async def worker() -> None:
            nonlocal errors
            while loop.time() < deadline:
                started = loop.time()
                errors += await _get(client, popularity.pick()) >= 400
                latencies.append(loop.time() - started)

        began = loop.time()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = loop.time() - began
    return {"requests": len(latencies), "errors": errors, "elapsed": elapsed, "latencies": latencies}


def _closed_loop_process(args: tuple) -> dict:
    _use_uvloop()
    return asyncio.run(_closed_loop(*args))


def _use_uvloop() -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


WRK_SCRIPT = """
wrk.headers["{header}"] = "{key}"
local paths = {{ {paths} }}
local i = 0
init = function(args) i = math.random(#paths) end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def closed_loop(base_url: str, api_key: str, targets: Sequence[str], connections: int = 64, seconds: float = 10,
                processes: int = 2, skew: float = 1.1) -> dict:  # fmt: skip
    """The maximum requests/s at ``connections``: with wrk when installed (a C client leaves the
    machine's cores to the server), else with aiohttp clients in ``processes`` processes."""
    if shutil.which("wrk"):
        return _closed_loop_wrk(base_url, api_key, targets, connections, seconds, skew)
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
    jobs = [(base_url, api_key, list(targets), share, seconds, skew, 10 + i) for i, share in enumerate(shares)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_closed_loop_process, jobs)
    latencies = [latency for part in parts for latency in part["latencies"]]
    requests = sum(part["requests"] for part in parts)
    return {
        "connections": connections,
        "client": f"aiohttp ({processes} processes)",
        "max_rps": round(requests / max(part["elapsed"] for part in parts), 1),
        "requests": requests,
        "errors": sum(part["errors"] for part in parts),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
    }


def _closed_loop_wrk(base_url: str, api_key: str, targets: Sequence[str], connections: int, seconds: float,
                     skew: float) -> dict:  # fmt: skip
    popularity = Popularity(targets, skew, seed=3)
    paths = ", ".join(json.dumps(popularity.pick()) for _ in range(20_000))
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT.format(header=KEY_HEADER, key=api_key, paths=paths))
        script.flush()
        command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds:.0f}s", "--latency", "-s", script.name, base_url]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def milliseconds(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "connections": connections,
        "client": "wrk (2 threads)",
        "max_rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), 1),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "errors": (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, errors.groups())) if errors else 0),
        "p50_ms": milliseconds("50"),
        "p99_ms": milliseconds("99"),
    }


def measure_stats_api(base_url: str, api_key: str, targets: Sequence[str], rate: float = 500, seconds: float = 10,
                      *, connections: int = 64, poisson: bool = True, skew: float = 1.1, warmup: float = 3.0,
                      client_processes: int = 2, baseline: bool = True) -> dict:  # fmt: skip
    """Open-loop p50/p99 at ``rate`` requests/s, then the closed-loop maximum at ``connections``.

    ``targets`` are request paths (see ``widget_targets``), most popular first. The API must be
    running (e.g. ``serve_api``) in another process. Returns ``{"open_loop": {...}, "closed_loop": {...}}``
    and, with ``baseline``, the same two measurements of the app's ``/healthz`` (no I/O, no stats
    code: the framework's own cost on this machine) under ``"baseline"``.
    """
    _use_uvloop()
    # every target once, so the measurement starts from caches warmed the way steady traffic warms them
    asyncio.run(_warm(base_url, api_key, targets))
    result = {
        "open_loop": asyncio.run(_open_loop(base_url, api_key, targets, rate, seconds, poisson, skew, warmup)),
        "closed_loop": closed_loop(base_url, api_key, targets, connections, seconds, client_processes, skew),
    }
    if baseline:
        result["baseline"] = {
            "open_loop": asyncio.run(_open_loop(base_url, api_key, ["/healthz"], rate, seconds, poisson, 0, warmup)),
            "closed_loop": closed_loop(base_url, api_key, ["/healthz"], connections, seconds, client_processes, 0),
        }
    return result


async def _warm(base_url: str, api_key: str, targets: Sequence[str]) -> None:
    async with _client(base_url, api_key, connections=16) as client:
        semaphore = asyncio.Semaphore(16)

        async def one(path: str) -> None:
            async with semaphore, client.get(path) as response:
                if response.status >= 400:
                    raise SystemExit(f"GET {path} → {response.status}: {(await response.text())[:300]}")
                await response.read()

        await asyncio.gather(*(one(path) for path in dict.fromkeys(targets)))


# --- the API and its project, for benches ----------------------------------------------------------


def register_project(database_url: str, project_id: str, sets: dict[str, tuple[str, dict]], timezone: str = "UTC") -> str:
    """A control-plane project with this id (e.g. the project of synthetic events) and its content
    sets ({key: (signal type, config)}); returns a new public key."""
    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.keys import KeyKind
    from feelback.control_plane.models import ContentSet, Project
    from feelback.control_plane.projects import issue_key
    from feelback.settings import Settings

    settings = Settings(database_url=database_url)
    upgrade_control_plane(settings)
    with session_scope(settings) as session:
        project = session.get(Project, project_id) or Project(id=project_id, name=project_id, timezone=timezone, allowed_origins=[])
        session.add(project)
        session.flush()
        known = {content_set.key for content_set in project.content_sets}
        for key, (signal_type, config) in sets.items():
            if key not in known:
                session.add(ContentSet(project_id=project_id, key=key, signal_type=signal_type, config=config,
                                       one_per_visitor=signal_type != "message"))  # fmt: skip
        _, public_key = issue_key(session, project, KeyKind.public, "stats bench")
    return public_key


@contextlib.contextmanager
def serve_api(env: dict[str, str], workers: int = 1) -> Iterator[str]:
    """``ingest_api.app:create_app`` under uvicorn in a subprocess with ``env`` (FEELBACK_*); yields its URL."""
    from warehouse.local_server.process import free_port

    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "ingest_api.app:create_app", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log",
               "--loop", "uvloop", "--http", "httptools"]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


# --- a world of its own ----------------------------------------------------------------------------

PROJECT = "stats-bench"
SETS = {"votes": ("yesno", {}), "stars": ("rating", {"scale": 5}), "likes": ("like", {}),
        "reactions": ("reaction", {}), "notes": ("message", {})}  # fmt: skip
CONTENTS = 500

# Events numbered [first, first + count) over [start, start + span): popular pages (low numbers)
# get most signals; 80 % creates, 10 % edits and 10 % revokes of signals up to ~30 days older.
EVENTS = """
INSERT INTO raw.feedback_events
    (event_id, idempotency_key, project_id, content_set, content_key, signal_id, operation, signal_type, value,
     rating_scale, reaction, message, tags, contact_email, form_fields, visitor_id, is_bot, occurred_at, received_at)
SELECT
    generateUUIDv4(number) AS event_id,
    concat('bench-', toString(number)) AS idempotency_key,
    {project:String} AS project_id,
    ['votes', 'stars', 'likes', 'reactions', 'notes'][t + 1] AS content_set,
    concat('page-', toString(toUInt32(pow(cityHash64(s, 2) % 1000000 / 1000000, 3) * {contents:UInt32}))) AS content_key,
    reinterpretAsUUID(reverse(unhex(leftPad(hex(s), 32, '0')))) AS signal_id,
    op AS operation,
    ['yesno', 'rating', 'like', 'reaction', 'message'][t + 1] AS signal_type,
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
        multiIf(number < {first:UInt64} + 100 OR cityHash64(number, 4) % 10 < 8, 'create',
                cityHash64(number, 4) % 10 = 8, 'edit', 'revoke') AS op,
        if(op = 'create', number, greatest(toInt64(number) - 1 - toInt64(cityHash64(number, 9) % {reach:UInt64}), 0)) AS s,
        cityHash64(s, 1) % 5 AS t,
        {start:DateTime64(3, 'UTC')} + toIntervalMillisecond(intDiv((number - {first:UInt64}) * {span_ms:UInt64}, {count:UInt64})) AS received
    FROM numbers({first:UInt64}, {count:UInt64})
)
"""


def insert_events(client, first: int, count: int, start: dt.datetime, span: dt.timedelta, reach: int) -> None:
    """Events ``first`` .. ``first + count - 1``; an edit or revoke reaches up to ``reach`` events back."""
    client.command(EVENTS, parameters={
        "project": PROJECT, "contents": CONTENTS, "first": first, "count": count, "start": start,
        "span_ms": int(span.total_seconds() * 1000), "reach": max(1, reach),
    })  # fmt: skip


def build_world(folder: Path, events: int) -> tuple[dict[str, str], str]:
    """A local server with ``events`` built and some more fresh; returns (API environment, public key)."""
    from pipelines.dbt_env import dbt_env
    from warehouse.client import get_client
    from warehouse.local_server.process import ServerProcess
    from warehouse.migrations import migrate

    server = ServerProcess(data_dir=folder / "clickhouse").start()
    atexit_stop(server)
    env = {"FEELBACK_CLICKHOUSE_URL": server.url, "FEELBACK_HOME": str(folder / "home"),
           "FEELBACK_DATABASE_URL": f"sqlite:///{folder / 'control.db'}"}
    os.environ.update(env)
    from feelback.settings import get_settings

    get_settings.cache_clear()
    key = register_project(env["FEELBACK_DATABASE_URL"], PROJECT, SETS)
    client = get_client()
    migrate(client)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    began = time.monotonic()
    insert_events(client, 0, events, now - dt.timedelta(days=90), dt.timedelta(days=90) - dt.timedelta(minutes=30), events // 3)
    print(f"inserted {events:,} events over 90 days in {time.monotonic() - began:.1f} s")

    import pipelines.definitions  # noqa: F401
    from pipelines.defs.dlt.control_plane import control_plane_pipeline, control_plane_source
    from pipelines.defs.sentiment.scoring import ensure_table

    client.command("CREATE DATABASE IF NOT EXISTS raw_app")
    settings = get_settings()
    control_plane_pipeline(settings).run(control_plane_source(settings.control_db_url))
    ensure_table(client)  # messages stay unscored: VADER's cost is not this bench's subject
    began = time.monotonic()
    command = [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(REPO / "dbt_project"),
               "--profiles-dir", str(REPO / "dbt_project"), "--target-path", str(folder / "target"),
               "--log-path", str(folder / "logs"), "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
               "--vars", json.dumps({"min_day": str((now - dt.timedelta(days=91)).date()), "max_day": str(now.date())})]  # fmt: skip
    done = subprocess.run(command, env={**os.environ, **dbt_env(settings.clickhouse)}, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"dbt build failed:\n{done.stdout[-3000:]}")
    print(f"dbt build in {time.monotonic() - began:.1f} s")
    # events after the build: every read merges a live delta (creates, edits and revokes of built signals)
    fresh = max(1000, events // 100)
    insert_events(client, events, fresh, now - dt.timedelta(seconds=30), dt.timedelta(seconds=25), events // 3)
    client.close()
    return env, key


def atexit_stop(server) -> None:
    import atexit

    atexit.register(lambda: server.process and server.process.poll() is None and server.stop())


def popular_contents() -> list[str]:
    return [f"page-{n}" for n in range(CONTENTS)]


def print_report(result: dict) -> None:
    for name, part in [("stats", result), ("/healthz", result.get("baseline"))]:
        if part is None:
            continue
        opened, closed = part["open_loop"], part["closed_loop"]
        print(f"{name}: open loop {opened['offered_rps']:.0f} req/s offered ({opened['schedule']}), {opened['requests']:,} "
              f"requests, statuses {opened['statuses']}")  # fmt: skip
        print(f"    p50 {opened['p50_ms']:.2f} ms   p90 {opened['p90_ms']:.2f} ms   p99 {opened['p99_ms']:.2f} ms   "
              f"max {opened['max_ms']:.1f} ms   (generator send lag p99 {opened['send_lag_p99_ms']:.2f} ms)")  # fmt: skip
        print(f"    closed loop {closed['connections']} connections ({closed['client']}): {closed['max_rps']:,.0f} req/s, "
              f"p50 {closed['p50_ms']:.1f} ms, p99 {closed['p99_ms']:.1f} ms, errors {closed['errors']}")  # fmt: skip
    print("targets: p50 <= 5 ms, p99 <= 25 ms at 500 req/s; >= 2,000 req/s at 64 connections")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="history size when building a world")
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the API")
    parser.add_argument("--fixed", action="store_true", help="fixed intervals instead of Poisson arrivals")
    parser.add_argument("--base-url", help="load this running API instead of building a world")
    parser.add_argument("--key", help="public key for --base-url")
    parser.add_argument("--target", action="append", help="request path for --base-url (repeat; most popular first)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the API and the server on the way out
    options = dict(rate=args.rate, seconds=args.seconds, connections=args.connections, poisson=not args.fixed,
                   client_processes=args.client_processes)  # fmt: skip

    if args.base_url:
        if not (args.key and args.target):
            parser.error("--base-url needs --key and at least one --target")
        print_report(measure_stats_api(args.base_url, args.key, args.target, **options))
        return
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as folder:
        env, key = build_world(Path(folder), args.events)
        with serve_api(env, workers=args.workers) as url:
            targets = widget_targets(list(SETS), popular_contents())
            print(f"API {url}, {len(set(targets)):,} distinct targets read with skewed popularity")
            print_report(measure_stats_api(url, key, targets, **options))


if __name__ == "__main__":
    main()
