"""The overview's first read after the API restarts, with the overview warmer on and off (bench/panel.py
``--after-restart``; not a test).

Two APIs on the same warehouse and control plane, each with a home of its own: one with the warmer on
(``FEELBACK_OVERVIEW_WARM_SECONDS`` 30, the default), one with it off (0). Each reads every window once,
stops (SIGTERM: the warmer on keeps its list of reads in ``<home>/api/overview-reads.json``), starts
again, waits ``wait`` seconds (the warmer reads its list at start-up, one overview at a time), and
reads every window once more: the first read a person makes after a deploy.
"""

from __future__ import annotations

import time

import httpx

from bench.browser_timing import Stack, start_api
from bench.panel_after_build import WINDOWS


def first_reads_after_restart(stack: Stack, secret: str, project_id: str, wait: float = 20.0) -> None:
    path = f"/v1/projects/{project_id}/overview"
    after: dict[str, dict[str, float]] = {}
    for name, seconds in (("on", "30"), ("off", "0")):
        home = stack.work / f"home-restart-{name}"
        home.mkdir(exist_ok=True)
        env = {"FEELBACK_OVERVIEW_WARM_SECONDS": seconds}
        for run in ("before", "after"):
            process, url = start_api(home, stack.clickhouse_url, stack.settings.database_url, env)
            try:
                with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=60) as client:
                    if run == "after":
                        time.sleep(wait)
                    for window in WINDOWS:
                        started = time.perf_counter()
                        client.get(path, params={"window": window}).raise_for_status()
                        after.setdefault(name, {})[window] = (time.perf_counter() - started) * 1000
            finally:
                process.terminate()
                process.wait(timeout=30)
    print(f"(f) first overview read after the API restarted ({wait:.0f} s after its start; warmer on: 30 s, off: 0):")
    print(f"    {'window':<7} {'on':>10} {'off':>10}")
    for window in WINDOWS:
        print(f"    {window:<7} {after['on'][window]:>7.1f} ms {after['off'][window]:>7.1f} ms")
