"""How soon an acknowledged signal shows where people read it (prints figures; not a test).

    .venv/bin/python -m bench.freshness [--signals 100] [--poll-ms 20]

On the embedded stack with the demo project (bench/browser_timing.py's ``demo_stack``, data under
``bench/.data/``), sends ``--signals`` likes one after the other, each on a content of its own, and
from each acknowledgement polls, every ``--poll-ms``, the two reads that show it:

(a) the widget's stats read ``GET /v1/stats/demo-like//{content}`` (its total becomes 1);
(b) the panel's overview ``GET /v1/projects/{id}/overview?window=7d`` (its signal total goes up by one).

Prints p50/p99/max of acknowledgement -> shown for each (targets: p99 <= 2 s for (a), the stats'
"every operation acknowledged at least 2 s before a read is in it"; "within seconds" for (b)).
The tests only check that signals show (tests/api/stats/test_widget_reads.py,
tests/panel/test_panel_overview.py, tests/panel/test_panel_screens.py); how soon is this bench's.
The ingest alone (ack -> queryable in ClickHouse) is bench/ingest.py's (c).
"""

from __future__ import annotations

import argparse
import time
import uuid

import httpx

from bench.browser_timing import REPO, UA, demo_stack, percentile

GIVE_UP = 60.0  # seconds: a signal not shown by then is reported, not waited for


def overview_total(client: httpx.Client, project_id: str, secret: str) -> int:
    response = client.get(f"/v1/projects/{project_id}/overview", params={"window": "7d"}, headers={"Authorization": f"Bearer {secret}"})
    response.raise_for_status()
    return response.json()["totals"]["signals"]


def measure(url: str, public_key: str, project_id: str, secret: str, signals: int, poll: float) -> tuple[list[float], list[float], int]:
    """(ack -> stats read, ack -> overview read, signals never shown) over ``signals`` likes in turn."""
    stats, overview, missing = [], [], 0
    with httpx.Client(base_url=url, headers={"X-Feelback-Key": public_key, "User-Agent": UA}, timeout=30) as client:
        shown_total = overview_total(client, project_id, secret)
        for _ in range(signals):
            content = f"/fresh/{uuid.uuid4().hex}"
            body = {"content_set": "demo-like", "content_key": content, "value": True, "idempotency_key": uuid.uuid4().hex}
            client.post("/v1/signals", json=body).raise_for_status()
            acknowledged = time.monotonic()
            in_stats = in_overview = None
            while (in_stats is None or in_overview is None) and time.monotonic() - acknowledged < GIVE_UP:
                if in_stats is None and client.get(f"/v1/stats/demo-like/{content}").json()["total"] == 1:
                    in_stats = time.monotonic() - acknowledged
                if in_overview is None and overview_total(client, project_id, secret) > shown_total:
                    in_overview = time.monotonic() - acknowledged
                time.sleep(poll)
            shown_total += 1
            missing += in_stats is None or in_overview is None
            stats += [in_stats] if in_stats is not None else []
            overview += [in_overview] if in_overview is not None else []
    return stats, overview, missing


def report(label: str, seconds: list[float], target: str) -> None:
    if not seconds:
        print(f"{label}: never shown")
        return
    print(f"{label} over {len(seconds)} signals: p50 {percentile(seconds, 0.5) * 1000:.0f} ms, "
          f"p99 {percentile(seconds, 0.99) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms ({target})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--signals", type=int, default=100)
    parser.add_argument("--poll-ms", type=float, default=20)
    args = parser.parse_args()

    from feelback.control_plane.db import session_scope
    from feelback.control_plane.keys import KeyKind
    from feelback.control_plane.models import Project
    from feelback.control_plane.projects import issue_key

    with demo_stack(REPO / "bench" / ".data" / f"freshness-{int(time.time())}") as stack:
        project_id = stack.demo.project_id
        with session_scope(stack.settings) as session:
            _, secret = issue_key(session, session.get(Project, project_id), KeyKind.secret, "bench")
        stats, overview, missing = measure(stack.url, stack.demo.public_key, project_id, secret, args.signals, args.poll_ms / 1000)
    report("(a) ack -> stats read shows it", stats, "target p99 <= 2000 ms")
    report("(b) ack -> overview shows it", overview, "target: within seconds")
    if missing:
        print(f"    {missing} signals not shown within {GIVE_UP:.0f} s")


if __name__ == "__main__":
    main()
