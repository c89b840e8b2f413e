"""The original ``@feelback/js`` and ``@feelback/react`` (from the npm registry, pinned in this folder's
package-lock.json) in Chromium, pointed at our compatibility API: clicks, edits, undo and counts, as a site that moved to
us by changing only the SDK's endpoint would see them."""

from __future__ import annotations

import subprocess
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import ContentSet
from ingest_api.compat.feelback_values import REACTION_PRESETS
from tests.api.ingest_support import BROWSER_UA, ApiProcess, ingest_settings, seed_project, wait_for_rows
from tests.fixtures.npm import npm_ci
from tests.polling import DEADLINE
from warehouse.local_server.process import free_port

HERE = Path(__file__).resolve().parent
SDK = HERE / "node_modules" / "@feelback" / "js"
REACT_GITHUB_TITLES = ("Like", "Dislike", "Laugh", "Confused", "Love", "Hooray!", "Let's go!", "What?")
PAGE_QUERY = "?q=a+b&lang=en"  # the reactions widget's key is the whole URL ($auto): "+" and "&" in it


@pytest.fixture(scope="session")
def feelback_js() -> Path:
    """``@feelback/js`` as pinned by the lock file, installed with ``npm ci`` once (when missing or stale)."""
    npm_ci(HERE)
    return SDK


@pytest.fixture(scope="session")
def react_bundle(feelback_js, tmp_path_factory) -> Path:
    """The @feelback/react page (react_page.js) bundled by the pinned esbuild, as a site's build would."""
    bundle = tmp_path_factory.mktemp("react-page") / "react_page.bundle.js"
    subprocess.run(
        [str(HERE / "node_modules" / ".bin" / "esbuild"), "react_page.js", "--bundle", "--format=esm",
         "--define:process.env.NODE_ENV='production'", "--log-level=warning", f"--outfile={bundle}"],
        cwd=HERE, check=True, timeout=120,
    )  # fmt: skip
    return bundle


class _SitePage(SimpleHTTPRequestHandler):
    """A customer's site: the test pages (with the API endpoint filled in), the React page's bundle,
    and the SDK's files under /sdk/."""

    endpoint = ""
    bundle: Path | None = None

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server's name)
        path = self.path.split("?")[0]
        if path in ("/page.html", "/react_page.html", "/content_id_page.html"):
            self._send((HERE / path[1:]).read_text().replace("{{ENDPOINT}}", self.endpoint).encode(), "text/html; charset=utf-8")
        elif path == "/react_page.bundle.js" and self.bundle is not None:
            self._send(self.bundle.read_bytes(), "text/javascript; charset=utf-8")
        elif self.path.startswith("/sdk/"):
            self.path = self.path.removeprefix("/sdk")
            super().do_GET()
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(feelback_js, react_bundle, clickhouse_server, tmp_path_factory):
    """The site's origin, the API (its own process, as ``feelback up`` runs it) and the project."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    settings = ingest_settings(tmp_path_factory.mktemp("sdk-compat"), spool_drain_interval_ms=100)
    project = seed_project(settings, origins=(origin,))
    with session_scope(settings) as session:
        reactions = [reaction.model_dump() for reaction in REACTION_PRESETS["github"]]
        session.add(ContentSet(project_id=project.id, key="github-set", signal_type="reaction", config={"reactions": reactions}))
    api = ApiProcess(settings, clickhouse_server.url).start()
    endpoint = f"{api.url}/v1/compat/feelback/{project.public_key}/v0"
    handler = type("SitePage", (_SitePage,), {"endpoint": endpoint, "bundle": react_bundle})
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(feelback_js)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin, api, project
    finally:
        server.shutdown()
        server.server_close()
        api.kill()


def counts(page, widget: str) -> list[str]:
    return page.locator(f"#{widget} [data-feelback-count-index]").evaluate_all("spans => spans.map(s => s.textContent)")


def wait_counts(page, widget: str, expected: list[int], timeout: float = 15.0) -> None:
    page.wait_for_function(
        "([widget, expected]) => [...document.querySelectorAll(`#${widget} [data-feelback-count-index]`)]"
        ".map(s => s.textContent).join() === expected.join()",
        arg=[widget, [str(count) for count in expected]],
        timeout=timeout * 1000,
    )


def active(page, widget: str) -> list[str]:
    return page.locator(f"#{widget} button.active").evaluate_all("buttons => buttons.map(b => b.dataset.feelbackValue)")


def click_and_wait(page, selector: str, event: str) -> None:
    """Click a button and wait for the SDK's event that the API answered (its failures only log)."""
    before = page.evaluate(f"window.feelbackEvents.filter(e => e === {event!r}).length")
    page.click(selector)
    page.wait_for_function(f"window.feelbackEvents.filter(e => e === {event!r}).length > {before}", timeout=15_000)


def open_site(context, origin: str):
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{origin}/page.html{PAGE_QUERY}")
    page.wait_for_selector("#yesno [data-feelback-count-index='0'][data-feelback-count-value]")
    page.wait_for_selector("#reactions [data-feelback-count-index='7'][data-feelback-count-value]")
    return page, problems


def reload_until(page, widget: str, expected: list[int], timeout: float = DEADLINE) -> None:
    """Reload until the server's counts show ``expected`` (how soon: bench/freshness.py)."""
    deadline = time.monotonic() + timeout
    while True:
        page.reload()
        page.wait_for_selector(f"#{widget} [data-feelback-count-index='0'][data-feelback-count-value]")
        if counts(page, widget) == [str(count) for count in expected] or time.monotonic() > deadline:
            assert counts(page, widget) == [str(count) for count in expected]
            return
        time.sleep(0.5)


def test_feelback_js_works_against_us_unchanged(site, browser, ch, artifacts):
    origin, api, project = site
    # A visitor's browser (a headless user agent is stored as a bot and not counted).
    context = browser.new_context(user_agent=BROWSER_UA)
    page, problems = open_site(context, origin)
    assert counts(page, "yesno") == ["0", "0"] and counts(page, "reactions") == ["0"] * 8

    # Yes/no: click, change the mind (edit), undo (remove), click again (a new signal).
    click_and_wait(page, "#yesno [data-feelback-value='+1']", "feedback-sent")
    assert active(page, "yesno") == ["+1"] and counts(page, "yesno") == ["1", "0"]
    click_and_wait(page, "#yesno [data-feelback-value='-1']", "feedback-sent")
    assert active(page, "yesno") == ["-1"] and counts(page, "yesno") == ["0", "1"]
    click_and_wait(page, "#yesno [data-feelback-value='-1']", "feedback-removed")
    assert active(page, "yesno") == [] and counts(page, "yesno") == ["0", "0"]
    click_and_wait(page, "#yesno [data-feelback-value='+1']", "feedback-sent")

    # GitHub reactions on the page's whole URL, a like, and a message with the visitor's e-mail.
    click_and_wait(page, "#reactions [data-feelback-value='rocket']", "feedback-sent")
    click_and_wait(page, "#reactions [data-feelback-value='+1']", "feedback-sent")
    click_and_wait(page, "#pulse [data-feelback-value='+']", "feedback-sent")
    page.fill("#message textarea", "The install step needs sudo")
    page.fill("#message input[type=email]", "ann@example.com")
    click_and_wait(page, "#message button[type=submit]", "feelback-sent")
    page.screenshot(path=str(artifacts / "sdk-compat-feelback-js.png"), full_page=True)

    # What the server kept: the counts it now answers, and the rows in the warehouse.
    # (each widget reads its own counts, and each content set's live counts catch up on their own)
    reload_until(page, "yesno", [1, 0])
    reload_until(page, "reactions", [1, 0, 0, 0, 0, 0, 0, 0])
    reload_until(page, "pulse", [1])
    assert active(page, "yesno") == ["+1"]  # remembered by the SDK's own store

    # Another visitor sees the same counts and adds theirs.
    other = browser.new_context(user_agent=BROWSER_UA.replace("Chrome/126.0", "Chrome/127.0"))
    second, second_problems = open_site(other, origin)
    assert counts(second, "yesno") == ["1", "0"] and active(second, "yesno") == []
    click_and_wait(second, "#yesno [data-feelback-value='-1']", "feedback-sent")
    assert counts(second, "yesno") == ["1", "1"]
    reload_until(page, "yesno", [1, 1])
    other.close()
    context.close()
    assert problems == [] and second_problems == []

    page_url = f"{origin}/page.html"
    where = "FROM raw.feedback_events WHERE project_id = {p:String} AND content_key IN {keys:Array(String)}"
    parameters = {"p": project.id, "keys": [page_url, page_url + PAGE_QUERY]}
    count, _ = wait_for_rows(ch, f"SELECT count() {where}", parameters, 9)
    assert count == 9
    operations = f"SELECT content_set, operation, value, reaction, message, contact_email, content_key {where} ORDER BY received_at, operation"
    stored = ch.query(operations, parameters=parameters).result_rows
    assert [row[:5] for row in stored] == [
        ("votes", "create", 1, "", ""),
        ("votes", "edit", -1, "", ""),
        ("votes", "revoke", None, "", ""),
        ("votes", "create", 1, "", ""),
        ("github-set", "create", None, "rocket", ""),
        ("github-set", "edit", None, "thumbs_up", ""),
        ("hearts", "create", 1, "", ""),
        ("feedback", "create", None, "", "The install step needs sudo"),
        ("votes", "create", -1, "", ""),
    ]
    assert stored[7][5] == "ann@example.com"
    assert {row[6] for row in stored if row[0] != "github-set"} == {page_url}
    assert {row[6] for row in stored if row[0] == "github-set"} == {page_url + PAGE_QUERY}
    # And the API answers getAggregates for a key with "+" and "&" as the browser sent it.
    endpoint = f"{api.url}/v1/compat/feelback/{project.public_key}/v0/feelbacks/getAggregates"
    raw = '$p=[{%22contentSetId%22:%22github-set%22,%22key%22:%22' + page_url + PAGE_QUERY + '%22}]'
    assert httpx.get(f"{endpoint}?{raw}").json() == [1, 0, 0, 0, 0, 0, 0, 0]



def test_feelback_js_targets_a_content_by_content_id(site, browser, ch):
    """``contentId`` here is "<content set key>:<content key>": the same content as that set and key.
    An id the hosted Feelback made is refused with a 422 that names the problem (the SDK logs it)."""
    origin, api, project = site
    context = browser.new_context(user_agent=BROWSER_UA.replace("Chrome/126.0", "Chrome/124.0"))
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    answers: list[tuple[str, int]] = []
    page.on("response", lambda response: "/feelbacks/" in response.url and answers.append(
        (response.url.split("/feelbacks/")[1].split("?")[0], response.status)))  # fmt: skip
    page.goto(f"{origin}/content_id_page.html")
    for widget in ("byid", "bykey"):
        page.wait_for_selector(f"#{widget} [data-feelback-count-index='1'][data-feelback-count-value]")
    assert counts(page, "byid") == ["0", "0"] == counts(page, "bykey")

    click_and_wait(page, "#byid [data-feelback-value='+1']", "feedback-sent")
    click_and_wait(page, "#byid [data-feelback-value='-1']", "feedback-sent")  # an edit, by feelbackId
    reload_until(page, "bykey", [0, 1])
    assert counts(page, "byid") == ["0", "1"] and active(page, "byid") == ["-1"]

    page.click("#hosted [data-feelback-value='+1']")
    deadline = time.monotonic() + 15
    while not any("Cannot send feelback" in text for text in problems) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert [text for text in problems if "Cannot send" in text], problems
    assert ("create", 422) in answers and ("create", 200) in answers and ("edit", 200) in answers
    context.close()

    where = "FROM raw.feedback_events WHERE project_id = {p:String} AND content_key = '/guide/by-id'"
    count, _ = wait_for_rows(ch, f"SELECT count() {where}", {"p": project.id}, 2)
    assert count == 2
    stored = ch.query(f"SELECT content_set, operation, value {where} ORDER BY received_at, operation", parameters={"p": project.id})
    assert stored.result_rows == [("votes", "create", 1), ("votes", "edit", -1)]


def react_state(page, widget: str) -> dict[str, str]:
    """Each button's title and shown count ("" when hidden: React hides zero counts), "*" marking the active one."""
    return page.locator(f"#{widget} .feelback-q button").evaluate_all(
        "buttons => Object.fromEntries(buttons.map(b => [(b.classList.contains('active') ? '*' : '') + b.title,"
        " b.querySelector('.feelback-count')?.textContent ?? '']))"
    )


def wait_react(page, widget: str, expected: dict[str, str], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while react_state(page, widget) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert react_state(page, widget) == expected


def test_feelback_react_works_against_us_unchanged(site, browser, ch):
    origin, api, project = site
    context = browser.new_context(user_agent=BROWSER_UA.replace("Chrome/126.0", "Chrome/125.0"))
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    page.goto(f"{origin}/react_page.html")
    page.wait_for_selector("#reactions button[title='What?']")

    # Up/down (PRESET_YESNO_LIKE_DISLIKE sends +1/-1): click, change the mind, undo.
    page.click("#yesno button[title=Yes]")
    wait_react(page, "yesno", {"*Yes": "1", "No": ""})
    page.click("#yesno button[title=No]")
    wait_react(page, "yesno", {"Yes": "", "*No": "1"})
    page.click("#yesno button[title=No]")
    wait_react(page, "yesno", {"Yes": "", "No": ""})

    page.click("#reactions button[title=\"Let's go!\"]")
    rocket = {("*" if title == "Let's go!" else "") + title: ("1" if title == "Let's go!" else "") for title in REACT_GITHUB_TITLES}
    wait_react(page, "reactions", rocket)

    page.click("#tagged button[title=Error]")
    page.fill("#tagged textarea", "The button does nothing")
    page.fill("#tagged input[type=email]", "bob@example.com")
    page.click("#tagged button.btn-action")
    page.wait_for_selector("#tagged .feelback-a >> text=Thanks for your feedback")  # shown once the API answered

    page.reload()  # counts from the server (polled), the visitor's own choice from the SDK's store
    page.wait_for_selector("#reactions button[title='What?']")
    deadline = time.monotonic() + DEADLINE
    while react_state(page, "reactions") != rocket and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
        page.wait_for_selector("#reactions button[title='What?']")
    assert react_state(page, "reactions") == rocket
    context.close()
    assert problems == []

    page_url = f"{origin}/react_page.html"
    where = "FROM raw.feedback_events WHERE project_id = {p:String} AND content_key = {k:String}"
    count, _ = wait_for_rows(ch, f"SELECT count() {where}", {"p": project.id, "k": page_url}, 5)
    assert count == 5
    rows_sql = f"SELECT content_set, operation, value, reaction, message, tags, contact_email {where} ORDER BY received_at, operation"
    assert ch.query(rows_sql, parameters={"p": project.id, "k": page_url}).result_rows == [
        ("thumbs", "create", 1, "", "", [], ""),
        ("thumbs", "edit", -1, "", "", [], ""),
        ("thumbs", "revoke", None, "", "", [], ""),
        ("github-set", "create", None, "rocket", "", [], ""),
        ("feedback", "create", None, "", "The button does nothing", ["bug"], "bob@example.com"),
    ]
