"""Panel benchmark in Debian's Chromium on loopback (prints figures; not a test).

    .venv/bin/python -m bench.panel [--loads 10] [--signals 2000] [--reads 50] [--lighthouse]
    .venv/bin/python -m bench.panel --raw-signals 1000000 [--contents 20000] [--days 365] [--data DIR]

Builds nothing: run ``make install`` (or ``cd panel && npm run build``) first. Starts a local
ClickHouse server and the API under ``bench/.data/`` (or ``--data``) with the demo project and
either ``--signals`` signals sent through the public batch API (no dbt build: the overview reads
the live delta), or with ``--raw-signals`` a year of that many signals written straight into the
raw table and built by dbt, plus a day of fresh events (bench/panel_world.py; ``--data`` keeps the
world for the next run). Prints:

(a) the panel's files, raw and gzipped (-9): the initial JS and CSS that ``index.html`` loads, and
    the chunks loaded later (the chart library with the first chart);
(c) ``GET /v1/projects/{id}/overview`` latency of every window (7d, 30d, 90d, week, month, year),
    read in turn: the first read after the API started, then p50/p99 over ``--reads`` reads;
(b) first screen interactive: from navigation start to the sign-in form rendered by the app, and to
    the overview's numbers shown (signed in with the project's secret key), in fresh contexts
    (cold cache), median and max over ``--loads`` loads;
(e) with ``--after-build`` (and ``--raw-signals``): the first read of each window after an
    incremental build, from an API with the overview warmer on and one with it off
    (bench/panel_after_build.py);
(f) with ``--after-restart`` (and ``--raw-signals``): the first read of each window after the API
    restarted, warmer on and off (bench/panel_after_restart.py);
(d) with ``--lighthouse``: Lighthouse 12.2.3's scores (accessibility, best practices, performance)
    of the overview and the inbox, signed in as a person (npx fetches it; Debian's Chromium).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import re
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.browser_timing import CHROMIUM, REPO, UA, Stack, chromium, demo_stack, percentile
from bench.panel_world import seeded_world
from bench.synthetic import CONTENT_SETS

DIST = REPO / "panel" / "dist"

# Records when the app has rendered an element matching the selector (performance.now(), ms from navigation start).
WATCH = """
window.__shown = {};
new MutationObserver(() => {
  for (const [name, selector] of Object.entries(%s)) {
    if (!window.__shown[name] && document.querySelector(selector)) window.__shown[name] = performance.now();
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def sizes() -> None:
    index = (DIST / "index.html").read_text()
    initial = set(re.findall(r'(?:src|href)="/app/(assets/[^"]+)"', index))
    print("(a) panel files (raw / gzip -9):")
    totals = {"initial": 0, "later": 0}
    for path in sorted(DIST.glob("assets/*")):
        data = path.read_bytes()
        zipped = len(gzip.compress(data, 9))
        when = "initial" if f"assets/{path.name}" in initial else "later"
        if path.suffix == ".js":
            totals[when] += zipped
        print(f"    {when:<8} {path.name:<32} {len(data) / 1024:7.1f} KB  {zipped / 1024:6.1f} KB")
    print(f"    initial JS {totals['initial'] / 1024:.1f} KB gzipped (budget 100 KB); loaded later {totals['later'] / 1024:.1f} KB")


def seed(url: str, public_key: str, signals: int) -> None:
    """``signals`` creates, 100 per batch, each on a content of its own (one per visitor and content)."""
    sets = [("demo-yesno", "yes"), ("demo-updown", "up"), ("demo-rating", 4)]
    headers = {"X-Feelback-Key": public_key, "User-Agent": UA}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for start in range(0, signals, 100):
            operations = [
                {"op": "create", "content_set": sets[n % 3][0], "content_key": f"/page/{n}", "value": sets[n % 3][1],
                 "idempotency_key": uuid.uuid4().hex}
                for n in range(start, min(start + 100, signals))
            ]  # fmt: skip
            client.post("/v1/batch", json={"operations": operations}).raise_for_status()
            time.sleep(0.2)  # under the project's rate limit (1000 operations a second by default)


def load_times(browser, url: str, path: str, watch: dict[str, str], loads: int, session: dict | None) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {name: [] for name in watch}
    for _ in range(loads):
        context = browser.new_context()
        if session:
            context.add_init_script(f"sessionStorage.setItem('feelback.credential', {json.dumps(json.dumps(session))});")
        context.add_init_script(WATCH % json.dumps(watch))
        page = context.new_page()
        page.goto(url + path)
        for name, selector in watch.items():
            page.wait_for_selector(selector, timeout=15_000)
        page.wait_for_function(f"Object.keys(window.__shown).length === {len(watch)}")
        shown = page.evaluate("window.__shown")
        for name in watch:
            found[name].append(shown[name])
        context.close()
    return found


def signed_in_person(url: str, home: Path) -> tuple[str, str]:
    """A person with an organization and a project with signals and messages: (session cookie, project id)."""
    import email
    from email import policy

    address = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    client = httpx.Client(base_url=url, headers={"Origin": url}, timeout=30)
    client.post("/v1/auth/sign-up", json={"email": address, "password": "a long bench password"}).raise_for_status()
    for _ in range(100):
        mails = [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in (home / "outbox").glob("*.eml")]
        tokens = [m.group(1) for mail in mails if address in str(mail["To"])
                  if (m := re.search(r"/app/verify-email\?token=(\S+)", mail.get_body(preferencelist=("plain",)).get_content()))]  # fmt: skip
        if tokens:
            break
        time.sleep(0.1)
    client.post("/v1/auth/verify-email", json={"token": tokens[0]}).raise_for_status()
    client.headers["X-CSRF-Token"] = client.cookies["feelback_csrf"]
    org = client.post("/v1/organizations", json={"name": "Bench"}).json()["id"]
    created = client.post(f"/v1/organizations/{org}/projects", json={"name": "Bench site"}).json()
    project = created["project"]["id"]
    for key, kind in (("docs", "yesno"), ("notes", "message")):
        client.post(f"/v1/projects/{project}/content-sets", json={"key": key, "signal_type": kind}).raise_for_status()
    operations = [{"op": "create", "content_set": "docs", "content_key": f"/p/{n}", "value": "yes" if n % 3 else "no"} for n in range(60)]
    operations += [{"op": "create", "content_set": "notes", "content_key": f"/p/{n}", "message": f"Note number {n}: the page helps"} for n in range(20)]
    httpx.post(f"{url}/v1/batch", json={"operations": operations}, headers={"X-Feelback-Key": created["public_key"], "User-Agent": UA}).raise_for_status()
    time.sleep(2)
    return client.cookies["feelback_session"], project


def lighthouse(url: str, home: Path, work: Path) -> None:
    import subprocess

    session, project = signed_in_person(url, home)
    command = os.environ.get("LIGHTHOUSE", "npx --yes lighthouse@12.2.3").split()
    print("(d) Lighthouse 12.2.3 (accessibility / best practices / performance):")
    for screen in ("overview", "inbox"):
        report = work / f"lighthouse-{screen}.json"
        subprocess.run(
            [*command, f"{url}/app/p/{project}/{screen}", "--quiet", "--output=json", f"--output-path={report}",
             f"--extra-headers={json.dumps({'Cookie': f'feelback_session={session}'})}",
             "--only-categories=accessibility,best-practices,performance", "--chrome-flags=--headless=new --no-sandbox"],
            check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300,
        )  # fmt: skip
        scores = {name: round(category["score"] * 100) for name, category in json.loads(report.read_text())["categories"].items()}
        print(f"    {screen:<9} {scores['accessibility']} / {scores['best-practices']} / {scores['performance']}   ({report})")


WINDOWS = ("7d", "30d", "90d", "week", "month", "year")
# A value of each type of bench/synthetic.py's content sets, for signals sent while the bench reads.
LIVE_VALUES = {"yesno": "yes", "rating": 4, "like": 1, "reaction": "heart"}


@contextlib.contextmanager
def live_traffic(url: str, public_key: str, per_second: float) -> Iterator[list[int]]:
    """Signals sent through the API while the overview is read (creates on random pages of the
    synthetic sets), so the live delta changes between reads as it does in production; yields
    the count sent so far."""
    sent = [0]
    stop = threading.Event()

    def send() -> None:
        rng = random.Random(3)
        with httpx.Client(base_url=url, headers={"X-Feelback-Key": public_key, "User-Agent": UA}, timeout=30) as client:
            while not stop.wait(1 / per_second):
                set_key = rng.choice(list(CONTENT_SETS))
                signal_type = CONTENT_SETS[set_key][0]
                value = {"message": "Live note: clear page"} if signal_type == "message" else {"value": LIVE_VALUES[signal_type]}
                operation = {"op": "create", "content_set": set_key, "content_key": f"/docs/page-{rng.randint(0, 2000)}",
                             "anonymous_id": f"live-{rng.randint(0, 10**9)}", **value}  # fmt: skip
                if client.post("/v1/batch", json={"operations": [operation]}).status_code == 200:
                    sent[0] += 1

    thread = threading.Thread(target=send, daemon=True)
    if per_second > 0:
        thread.start()
    try:
        yield sent
    finally:
        stop.set()
        if per_second > 0:
            thread.join(timeout=30)


def overview_latencies(url: str, secret: str, project_id: str, reads: int) -> None:
    """Every window's overview, read in turn (so a busy moment of the machine hits them alike):
    the first read of each after the API started (cold caches), then p50/p99 of ``reads`` more."""
    headers = {"Authorization": f"Bearer {secret}"}
    first: dict[str, float] = {}
    times: dict[str, list[float]] = {window: [] for window in WINDOWS}
    totals: dict[str, tuple[int, int]] = {}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for attempt in range(reads + 1):
            for window in WINDOWS:
                started = time.perf_counter()
                response = client.get(f"/v1/projects/{project_id}/overview", params={"window": window})
                elapsed = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                if attempt == 0:
                    first[window] = elapsed
                    body = response.json()
                    totals[window] = (body["totals"]["signals"], sum(len(s["top"]) for s in body["sets"]))
                else:
                    times[window].append(elapsed)
    print(f"(c) GET /v1/projects/{{id}}/overview, each window read in turn, {reads} reads each after the first (target 300 ms):")
    print(f"    {'window':<7} {'signals':>9} {'first read':>11} {'p50':>9} {'p99':>9} {'max':>9}")
    for window in WINDOWS:
        values = times[window]
        print(f"    {window:<7} {totals[window][0]:>9,} {first[window]:>8.1f} ms {percentile(values, 0.5):>6.1f} ms "
              f"{percentile(values, 0.99):>6.1f} ms {max(values):>6.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--signals", type=int, default=2000, help="signals sent through the API")
    parser.add_argument("--raw-signals", type=int, help="instead: a year of this many signals written into the warehouse and built")
    parser.add_argument("--contents", type=int, default=20_000, help="with --raw-signals: pages per content set")
    parser.add_argument("--days", type=int, default=365, help="with --raw-signals: days of history")
    parser.add_argument("--data", type=Path, help="with --raw-signals: the folder of the world, reused when made before")
    parser.add_argument("--reads", type=int, default=50, help="overview reads of each window")
    parser.add_argument("--live", type=float, default=2.0, help="with --raw-signals: signals a second sent while reading (0: none)")
    parser.add_argument("--lighthouse", action="store_true", help="also run Lighthouse on the overview and the inbox")
    parser.add_argument("--after-build", action="store_true", help="with --raw-signals: first reads after a build, warmer on and off")
    parser.add_argument("--after-restart", action="store_true", help="with --raw-signals: first reads after an API restart, warmer on and off")
    parser.add_argument("--warm-seconds", type=float, default=5.0, help="with --after-build: the warmer's FEELBACK_OVERVIEW_WARM_SECONDS")
    args = parser.parse_args()
    if args.after_build:  # the API that demo_stack starts reads it
        os.environ["FEELBACK_OVERVIEW_WARM_SECONDS"] = str(args.warm_seconds)
    if not (DIST / "index.html").exists():
        sys.exit("the panel is not built: run make install (or cd panel && npm run build)")
    sizes()

    from feelback.control_plane.db import session_scope
    from feelback.control_plane.keys import KeyKind
    from feelback.control_plane.models import Project
    from feelback.control_plane.projects import issue_key

    def prepare(stack: Stack) -> None:
        if args.raw_signals:
            began = time.monotonic()
            world = seeded_world(stack, args.raw_signals, args.contents, args.days)
            print(f"    world ready in {time.monotonic() - began:.1f} s: {world}")

    work = args.data or REPO / "bench" / ".data" / f"panel-{int(time.time())}"
    with demo_stack(work, prepare) as stack:
        project_id = stack.demo.project_id
        with session_scope(stack.settings) as session:
            _, secret = issue_key(session, session.get(Project, project_id), KeyKind.secret, "bench")
        if not args.raw_signals:
            began = time.monotonic()
            seed(stack.url, stack.demo.public_key, args.signals)
            print(f"    seeded {args.signals} signals through the API in {time.monotonic() - began:.1f} s")
            time.sleep(2)
        print(f"    load average before the reads: {os.getloadavg()} on {os.cpu_count()} cores")
        with live_traffic(stack.url, stack.demo.public_key, args.live if args.raw_signals else 0) as sent:
            overview_latencies(stack.url, secret, project_id, args.reads)
            if args.after_build and args.raw_signals:
                from bench.panel_after_build import first_reads_after_build

                first_reads_after_build(stack, secret, project_id, args.warm_seconds)
            if args.after_restart and args.raw_signals:
                from bench.panel_after_restart import first_reads_after_restart

                first_reads_after_restart(stack, secret, project_id)
        print(f"    {sent[0]} signals sent through the API while reading")

        with chromium() as browser:
            signin = load_times(browser, stack.url, "/app/signin", {"form": "form button[type=submit]"}, args.loads, None)
            overview = load_times(
                browser, stack.url, f"/app/p/{project_id}/overview",
                {"numbers": "[data-testid=kpi-signals] .kpi-value", "chart": ".chart canvas"},
                args.loads, {"kind": "key", "token": secret, "projectId": project_id},
            )  # fmt: skip
        print(f"(b) from navigation start, cold cache, {args.loads} loads (median / max):")
        for label, values in (("sign-in form", signin["form"]), ("overview numbers", overview["numbers"]), ("overview chart", overview["chart"])):
            print(f"    {label:<18} {statistics.median(values):6.0f} ms / {max(values):6.0f} ms")
        print(f"    load average after: {os.getloadavg()}")
        if args.lighthouse:
            lighthouse(stack.url, stack.home, stack.work)


if __name__ == "__main__":
    main()
