"""CSRF in a real browser (Chromium) against the API as `feelback up` runs it: a page on another port
of the same host is cross-origin but same-site, so SameSite=Lax still sends the session cookie; the
API's own checks must refuse its form post and its fetch, while the same request from the API's
origin (where the panel is served) passes."""

from __future__ import annotations

import http.server
import json
import os
import threading
from functools import partial

import pytest

from feelback.control_plane.db import get_engine, session_scope
from feelback.control_plane.users import create_user
from feelback.settings import Settings
from tests.api.ingest_support import ApiProcess
from tests.fixtures.control_db import fresh_control_db
from warehouse.local_server.process import free_port

PASSWORD = "correct horse battery"


@pytest.fixture()
def api_process(tmp_path):
    settings = Settings(home=tmp_path, database_url=fresh_control_db("sqlite", tmp_path))
    with session_scope(settings) as db:
        create_user(db, "victim@example.com", password=PASSWORD, verified=True)
    get_engine(settings).dispose()
    api = ApiProcess(settings, os.environ["FEELBACK_CLICKHOUSE_URL"]).start()
    yield api
    api.kill()


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def attacker(tmp_path, api_process):
    """Another origin on the same host: a page with a form that posts to the API by itself."""
    folder = tmp_path / "attacker"
    folder.mkdir()
    (folder / "form.html").write_text(
        f'<form method="post" action="{api_process.url}/v1/organizations" enctype="text/plain">'
        '<input name=\'{"name": "Pwned by form", "x": "\' value=\'"}\'></form>'
        "<script>document.forms[0].submit()</script>"
    )
    (folder / "blank.html").write_text("<p>nothing to see</p>")
    handler = partial(QuietFiles, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _fetch(page, url: str, method: str = "GET", body: str | None = None, headers: dict | None = None):
    return page.evaluate(
        """async ([url, method, body, headers]) => {
            const response = await fetch(url, {method, body, headers, credentials: "include"});
            return {status: response.status, body: await response.text()};
        }""",
        [url, method, body, headers or {}],
    )


def test_cross_site_form_and_fetch_are_refused_in_a_browser(page, api_process, attacker):
    api = api_process.url
    page.goto(f"{api}/healthz")  # the API's own origin, where the panel runs
    signed_in = _fetch(page, f"{api}/v1/auth/sign-in", "POST", '{"email": "victim@example.com", "password": "%s"}' % PASSWORD,
                       {"Content-Type": "application/json"})
    assert signed_in["status"] == 200, signed_in
    csrf = page.evaluate("() => document.cookie.match(/feelback_csrf=([^;]+)/)[1]")
    assert "feelback_session" not in page.evaluate("() => document.cookie")  # HttpOnly
    mine = _fetch(page, f"{api}/v1/organizations", "POST", '{"name": "Mine"}', {"Content-Type": "application/json", "X-CSRF-Token": csrf})
    assert mine["status"] == 201, mine

    # 1. a form on the attacker's page posts by itself; the browser sends the cookie (same site)
    with page.expect_response(lambda r: r.url == f"{api}/v1/organizations" and r.request.method == "POST") as posted:
        page.goto(f"{attacker}/form.html")
    page.wait_for_url(f"{api}/v1/organizations")
    assert posted.value.status == 403 and "csrf_refused" in page.inner_text("body")

    # 2. a script on the attacker's page: a simple request (no preflight) reaches the API, with the cookie
    page.goto(f"{attacker}/blank.html")
    with page.expect_response(lambda r: r.url == f"{api}/v1/organizations" and r.request.method == "POST") as fetched:
        page.evaluate(
            """(url) => fetch(url, {method: "POST", mode: "no-cors", credentials: "include",
                                   headers: {"Content-Type": "text/plain"}, body: '{"name": "Pwned by fetch"}'}).catch(() => null)""",
            f"{api}/v1/organizations",
        )
    assert fetched.value.status == 403  # the only 403 of this route is csrf_refused (its body is opaque to the page)
    # with the CSRF header (say, leaked) the browser must ask first, and the API allows no cross-origin writes
    leaked = page.evaluate(
        """([url, csrf]) => fetch(url, {method: "POST", credentials: "include",
              headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: '{"name": "Pwned"}'})
              .then(r => "answered " + r.status, e => "blocked: " + e.message)""",
        [f"{api}/v1/organizations", csrf],
    )
    assert leaked.startswith("blocked"), leaked
    # and a cross-origin script cannot read what the victim sees
    read = page.evaluate("(url) => fetch(url, {credentials: 'include'}).then(r => r.text(), e => 'blocked')", f"{api}/v1/me")
    assert read == "blocked"

    page.goto(f"{api}/healthz")
    listed = _fetch(page, f"{api}/v1/organizations")
    assert [org["name"] for org in json.loads(listed["body"])] == ["Mine"]
