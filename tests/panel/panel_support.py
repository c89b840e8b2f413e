"""Shared set-up of the panel's tests: the built panel, a real API serving it, axe-core and screenshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.api.ingest_support import REPO

PANEL = REPO / "panel"
DIST = PANEL / "dist"
AXE = PANEL / "node_modules" / "axe-core" / "axe.min.js"
ADMIN_TOKEN = "panel-admin-token-for-tests"
THEMES = ("light", "dark")


def sign_in_with_key(page, api, token: str) -> None:
    """Signs in on the sign-in page with a secret key or the admin token."""
    page.goto(f"{api.url}/app/signin")
    page.get_by_text("Sign in with a secret key or the admin token").click()
    page.get_by_label("Secret key or admin token").fill(token)
    page.get_by_role("button", name="Sign in with the key").click()


def require_built_panel() -> None:
    if not (DIST / "index.html").is_file() or not AXE.is_file():
        pytest.fail("the panel is not built: run `make install` (npm ci and the panel's build)")


def axe_violations(page) -> list[str]:
    """axe-core's violations on the page as it is now, one line each (rule, impact, first targets)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Through the DevTools protocol, which the page's Content-Security-Policy does not restrict (a script tag would be refused).
        page.context.new_cdp_session(page).send("Runtime.evaluate", {"expression": AXE.read_text()})
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + json.dumps([node["target"] for node in violation["nodes"][:3]])
        for violation in result
    ]


# Each frame reports what its policy blocked as an event; Chromium also logs it (and a bad header) to the console.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`securitypolicyviolation: ${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
    + ` in ${event.documentURI} (${event.sourceFile}:${event.lineNumber}) ${event.sample}`);
}, true);
"""
POLICY_WORDS = ("Content Security Policy", "Content-Security-Policy", "securitypolicyviolation", "Permissions-Policy", "Permissions policy")


def watch_policies(context) -> None:
    """From now on, what a page of ``context`` (any of its frames) has blocked by its Content-Security-Policy,
    and any header the browser refused, is kept in ``context.policy_reports`` (``check_screen`` asserts none)."""
    context.policy_reports = []

    def on_console(message) -> None:
        if any(word in message.text for word in POLICY_WORDS):
            context.policy_reports.append(f"{message.location.get('url', '?')}: {message.text}")

    context.on("console", on_console)
    context.add_init_script(CSP_LISTENER)


class PolicyWatchingBrowser:
    """The session's browser, whose every new context watches for policy violations (``watch_policies``)."""

    def __init__(self, browser):
        self._browser = browser

    def __getattr__(self, name: str):
        return getattr(self._browser, name)

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        watch_policies(context)
        return context


def policy_reports(page) -> list[str]:
    reports = getattr(page.context, "policy_reports", None)
    assert reports is not None, "this page's context does not watch policy violations: make it with the panel tests' `browser`"
    return reports


def check_screen(page, artifacts: Path, name: str) -> None:
    """No Content-Security-Policy violation so far on the page, no axe violations in either theme, and a
    screenshot of each theme kept in the artifacts folder."""
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        page.wait_for_timeout(50)
        violations = axe_violations(page)
        assert violations == [], f"{name} ({theme}): {violations}"
        page.screenshot(path=str(artifacts / f"panel-{name}-{theme}.png"), full_page=True)
    page.emulate_media(color_scheme="light")
    assert policy_reports(page) == [], f"{name}: {policy_reports(page)}"


def send_signal(api, content_set: str, content_key: str, **fields) -> dict:
    """A visitor's signal through the public API, as the SDK sends it from an allowed page."""
    import uuid

    import httpx

    from tests.api.ingest_support import BROWSER_UA, ORIGIN

    body = {"content_set": content_set, "content_key": content_key, "idempotency_key": uuid.uuid4().hex, **fields}
    headers = {"X-Feelback-Key": api.project.public_key, "Origin": ORIGIN, "User-Agent": BROWSER_UA}
    response = httpx.post(f"{api.url}/v1/signals", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def mailed_link(mailbox, recipient: str, page: str, timeout: float = 10.0) -> str:
    """The newest link to ``/app/<page>?token=...`` in the mails ``recipient`` received (waits for one)."""
    import email
    import re
    import time
    from email import policy

    pattern = re.compile(rf"https?://\S+/app/{re.escape(page)}\?token=\S+")
    deadline = time.monotonic() + timeout
    while True:
        for envelope in reversed(mailbox.to(recipient)):
            text = email.message_from_bytes(envelope.content, policy=policy.default).get_body(preferencelist=("plain",)).get_content()
            if found := pattern.search(text):
                return found.group(0)
        if time.monotonic() > deadline:
            raise AssertionError(f"{recipient} got no mail with a /app/{page} link in {timeout} s")
        time.sleep(0.05)
