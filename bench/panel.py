"""Panel benchmark in Debian's Chromium on loopback (prints figures; not a test).

    .venv/bin/python -m bench.panel [--loads 10] [--signals 2000] [--reads 50]

Builds nothing: run ``make install`` (or ``cd panel && npm run build``) first. Starts a local
ClickHouse server and the API under ``bench/.data/`` with one project of ``--signals`` signals
(sent through the public batch API, no dbt build: the overview reads the live delta), and prints:

(a) the panel's files, raw and gzipped (-9): the initial JS and CSS that ``index.html`` loads, and
    the chunks loaded later (the chart library with the first chart);
(b) first screen interactive: from navigation start to the sign-in form rendered by the app, and to
    the overview's numbers shown (signed in with the project's secret key), in fresh contexts
    (cold cache), median and max over ``--loads`` loads;
(c) ``GET /v1/projects/{id}/overview?window=7d`` latency p50/p99 over ``--reads`` reads;
(d) with ``--lighthouse``: Lighthouse 12.2.3's scores (accessibility, best practices, performance)
    of the overview and the inbox, signed in as a person (npx fetches it; Debian's Chromium).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.sdk import UA, percentile, start_api  # noqa: E402
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

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
    import os
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--signals", type=int, default=2000)
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--lighthouse", action="store_true", help="also run Lighthouse on the overview and the inbox")
    args = parser.parse_args()
    if not (DIST / "index.html").exists():
        sys.exit("the panel is not built: run make install (or cd panel && npm run build)")
    sizes()

    from playwright.sync_api import sync_playwright

    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.keys import KeyKind
    from feelback.control_plane.models import Project
    from feelback.control_plane.projects import issue_key
    from feelback.demo import ensure_demo
    from feelback.settings import Settings
    from warehouse.client import get_client
    from warehouse.local_server.process import ServerProcess
    from warehouse.migrations import migrate

    work = REPO / "bench" / ".data" / f"panel-{int(time.time())}"
    home = work / "home"
    home.mkdir(parents=True)
    server = ServerProcess(data_dir=work / "clickhouse").start()
    api = None
    try:
        settings = Settings(home=home, clickhouse_url=server.url, database_url=f"sqlite:///{home / 'control.db'}")
        migrate(get_client(settings))
        upgrade_control_plane(settings)
        demo = ensure_demo(settings)
        with session_scope(settings) as session:
            _, secret = issue_key(session, session.get(Project, demo.project_id), KeyKind.secret, "bench")
        api, url = start_api(home, server.url, settings.database_url)
        began = time.monotonic()
        seed(url, demo.public_key, args.signals)
        print(f"    seeded {args.signals} signals in {time.monotonic() - began:.1f} s")
        time.sleep(2)

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            signin = load_times(browser, url, "/app/signin", {"form": "form button[type=submit]"}, args.loads, None)
            overview = load_times(
                browser, url, f"/app/p/{demo.project_id}/overview",
                {"numbers": "[data-testid=kpi-signals] .kpi-value", "chart": ".chart canvas"},
                args.loads, {"kind": "key", "token": secret, "projectId": demo.project_id},
            )  # fmt: skip
            browser.close()
        print(f"(b) from navigation start, cold cache, {args.loads} loads (median / max):")
        for label, values in (("sign-in form", signin["form"]), ("overview numbers", overview["numbers"]), ("overview chart", overview["chart"])):
            print(f"    {label:<18} {statistics.median(values):6.0f} ms / {max(values):6.0f} ms")

        headers = {"Authorization": f"Bearer {secret}"}
        latencies = []
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            total = client.get(f"/v1/projects/{demo.project_id}/overview", params={"window": "7d"}).json()["totals"]["signals"]
            for _ in range(args.reads):
                started = time.perf_counter()
                client.get(f"/v1/projects/{demo.project_id}/overview", params={"window": "7d"}).raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
        print(f"(c) overview 7d of {total} signals: p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms")
        if args.lighthouse:
            lighthouse(url, home, work)
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=15)
        server.stop()


if __name__ == "__main__":
    main()
