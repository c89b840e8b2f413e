"""A newcomer's first signal through the panel, timed, against a running ``make up`` (prints figures; not a test).

    make up    # in another terminal, then:
    .venv/bin/python -m bench.newcomer [--api http://127.0.0.1:8000] [--outbox .feelback/outbox]

In Debian's Chromium, as README's "The panel" tells it: open the panel, create an account, take the
verification link from the newest mail in the outbox folder, name an organization, create a project
whose allowed origin is a local page server, add an up/down content set, copy the snippet from
Install into a page of that origin, click the widget as a visitor (a person's user agent: headless
Chromium's own counts as a bot), and wait until Overview counts the signal. Prints the seconds from
opening the panel to each step: the machine's share of the journey (a person adds reading and typing).
"""

from __future__ import annotations

import argparse
import email
import re
import time
import uuid
from email import policy
from pathlib import Path

from bench.browser_timing import UA, chromium
from tests.sdk.support import PageServer


def outbox_link(outbox: Path, recipient: str, page: str, timeout: float = 30) -> str:
    """The link to ``/app/<page>?token=…`` in the newest ``.eml`` of the outbox addressed to ``recipient``."""
    pattern = re.compile(rf"https?://\S+/app/{re.escape(page)}\?token=\S+")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            mail = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if recipient in str(mail["To"]) and (found := pattern.search(mail.get_body(("plain",)).get_content())):
                return found.group(0)
        time.sleep(0.1)
    raise SystemExit(f"no mail to {recipient} with a /app/{page} link in {outbox} within {timeout:.0f} s")


def journey(browser, api: str, outbox: Path, site: PageServer) -> dict[str, float]:
    from playwright.sync_api import expect

    marks: dict[str, float] = {}
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    address = f"newcomer-{uuid.uuid4().hex[:8]}@example.com"
    started = time.monotonic()

    def mark(step: str) -> None:
        marks[step] = time.monotonic() - started

    page.goto(f"{api}/app/")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Your name").fill("Nora Newcomer")
    page.get_by_label("E-mail").fill(address)
    page.get_by_label("Password").fill("a newcomer's long password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    page.goto(outbox_link(outbox, address, "verify-email"))
    expect(page.get_by_role("heading", name="Welcome to Feelback")).to_be_visible()
    mark("signed up and verified from the outbox")
    page.get_by_label("Organization name").fill("Nora's docs")
    page.get_by_role("button", name="Create organization").click()
    page.get_by_label("Name", exact=True).fill("Docs")
    page.get_by_label("Allowed origins").fill(site.url)
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_text("is ready")).to_be_visible()
    mark("organization and project created")
    page.get_by_role("link", name="Install the widgets").click()
    page.get_by_role("link", name="Content sets").click()
    page.get_by_role("button", name="New content set").click()
    page.get_by_label("Key").fill("docs")
    page.get_by_label(re.compile("^Up / down")).check()
    page.get_by_role("button", name="Create content set").click()
    expect(page.get_by_role("heading", name="Content set docs")).to_be_visible()
    mark("content set created")
    page.get_by_role("link", name="Install", exact=True).click()
    snippets = page.locator(".snippet pre")
    expect(snippets).to_have_count(2)
    html = "".join(snippets.nth(n).inner_text() for n in range(2))
    visitor = browser.new_context(user_agent=UA)
    site_page = visitor.new_page()
    site_page.goto(site.add("/guide", f"<!doctype html><html lang='en'><title>Guide</title><main>{html}</main></html>"))
    site_page.get_by_role("button", name=re.compile("^Upvote")).click()
    expect(site_page.locator("feelback-updown").get_by_text("Thank you! Your feedback was sent.")).to_be_attached()
    mark("snippet in a page, visitor's click acknowledged")
    visitor.close()
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_test_id("kpi-signals").locator(".kpi-value")).to_have_text("1", timeout=60_000)
    mark("Overview counts the signal")
    context.close()
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="the API URL that make up printed")
    parser.add_argument("--outbox", type=Path, default=Path(".feelback/outbox"), help="the Mail outbox folder that make up printed")
    args = parser.parse_args()
    site = PageServer()
    try:
        with chromium() as browser:
            marks = journey(browser, args.api.rstrip("/"), args.outbox, site)
    finally:
        site.close()
    print("newcomer's journey in the panel, seconds from opening it:")
    for step, seconds in marks.items():
        print(f"  {seconds:6.1f}  {step}")


if __name__ == "__main__":
    main()
