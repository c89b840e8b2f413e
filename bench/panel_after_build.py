"""The overview's first read after a build, with the overview warmer on and off (bench/panel.py
``--after-build``; not a test).

Two APIs on the same warehouse and control plane: the bench's own, whose warmer looks for a new
build every ``--warm-seconds``, and one started with ``FEELBACK_OVERVIEW_WARM_SECONDS=0``. Each
reads every window once (so the warmer knows them), then an incremental ``dbt build`` of the last
day (the daily job's) finishes, the bench waits for the warmer, and each API reads every window
once more: its first read after the build. Last, after as long a wait with no build, every window
once more: what any read after such a pause costs (with signals arriving meanwhile, the sets'
live deltas are brought up to date on that read), the floor of a read after a build.
"""

from __future__ import annotations

import datetime as dt
import time

import httpx

from bench.browser_timing import Stack, start_api
from bench.panel_world import dbt_build

WINDOWS = ("7d", "30d", "90d", "week", "month", "year")


def first_reads_after_build(stack: Stack, secret: str, project_id: str, warm_seconds: float) -> None:
    home = stack.work / "home-warmer-off"
    home.mkdir(exist_ok=True)
    process, off_url = start_api(home, stack.clickhouse_url, stack.settings.database_url, {"FEELBACK_OVERVIEW_WARM_SECONDS": "0"})
    apis = {"on": stack.url, "off": off_url}
    path = f"/v1/projects/{project_id}/overview"
    try:
        clients = {name: httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=60) for name, url in apis.items()}

        def read(name: str, window: str) -> tuple[float, str]:
            started = time.perf_counter()
            response = clients[name].get(path, params={"window": window})
            response.raise_for_status()
            return (time.perf_counter() - started) * 1000, response.json()["built_through"]

        before = {window: {name: read(name, window) for name in apis} for window in WINDOWS}
        today = dt.datetime.now(dt.UTC).date()
        began = time.monotonic()
        dbt_build(stack, {"min_day": str(today - dt.timedelta(days=1)), "max_day": str(today)})
        built_in = time.monotonic() - began
        wait = warm_seconds + 20
        time.sleep(wait)  # the warmer's next look, and its reads (one at a time)
        after = {window: {name: read(name, window) for name in apis} for window in WINDOWS}
        time.sleep(wait)
        idle = {window: {name: read(name, window) for name in apis} for window in WINDOWS}
        for client in clients.values():
            client.close()
    finally:
        process.terminate()
        process.wait(timeout=20)

    print(f"(e) first overview read after a build (incremental dbt build of the last day: {built_in:.1f} s; then {wait:.0f} s of wait;")
    print(f"    warmer on: FEELBACK_OVERVIEW_WARM_SECONDS={warm_seconds:g}; off: 0):")
    print(f"    {'':<7} {'after the build':>21}   {'after as long, no build':>23}")
    print(f"    {'window':<7} {'on':>10} {'off':>10}   {'on':>11} {'off':>11}   built_through before -> after")
    for window in WINDOWS:
        on, off = after[window]["on"], after[window]["off"]
        print(f"    {window:<7} {on[0]:>7.1f} ms {off[0]:>7.1f} ms   {idle[window]['on'][0]:>8.1f} ms {idle[window]['off'][0]:>8.1f} ms"
              f"   {before[window]['on'][1]} -> {on[1]} (off: {off[1]})")  # fmt: skip
