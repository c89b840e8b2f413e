"""The issue's journey in Chromium against the real API, SMTP server and SDK, and a password reset."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.api.ingest_support import BROWSER_UA
from tests.panel.panel_support import check_screen, mailed_link

PASSWORD = "a long enough password"


def run_pending_exports(api) -> None:
    """Runs the pending export requests with the pipeline's own code, as the Dagster sensor's runs do."""
    import datetime as dt

    from pipelines.defs.exports import requests
    from pipelines.defs.exports.pipeline import ExportFilters, run_export
    from warehouse.client import get_client

    settings = api.settings
    client = get_client(settings)
    try:
        for job in requests.pending_exports(settings):
            requests.mark_running(settings, job.request_id)
            path, _ = run_export(settings, client, job.request_id, job.project_id, job.format, ExportFilters.from_json(job.filters))
            requests.mark_done(settings, job.request_id, path, dt.timedelta(days=settings.export_keep_days))
    finally:
        client.close()


def new_email(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}@example.com"


def sign_up(page, api, mailbox, email: str, name: str) -> None:
    page.goto(f"{api.url}/app/signup")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    page.goto(mailed_link(mailbox, email, "verify-email"))


def test_newcomer_journey(browser, panel_api, panel_mailbox, site_pages, artifacts):
    """Sign up, verify from the mail, create a project, copy the snippet into a page, click a widget,
    see the signal in the overview, triage a message, export and download, invite a viewer who
    cannot change settings, sign out."""
    founder = browser.new_context(viewport={"width": 1200, "height": 900})
    page = founder.new_page()
    page.goto(f"{panel_api.url}/app/signup")
    check_screen(page, artifacts, "signup")
    page.get_by_label("Password").fill("short")
    page.get_by_label("E-mail").fill("x@example.com")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 10 characters")

    founder_email = new_email("founder")
    sign_up(page, panel_api, panel_mailbox, founder_email, "Ada")
    expect(page.get_by_role("heading", name="Welcome to Feelback")).to_be_visible()
    check_screen(page, artifacts, "welcome")
    page.get_by_label("Organization name").fill("Acme")
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("heading", name="Projects of Acme")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Docs")
    page.get_by_label("Allowed origins").fill(site_pages.url)  # the customer's site: another origin
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_text("is ready")).to_be_visible()
    page.get_by_role("link", name="Install the widgets").click()
    project_url = page.url.rsplit("/install", 1)[0]
    for key, kind in (("docs", "Up / down"), ("notes", "Feedback form")):
        page.goto(f"{project_url}/sets")
        page.get_by_role("button", name="New content set").click()
        page.get_by_label("Key").fill(key)
        page.get_by_label(re.compile(f"^{re.escape(kind)}")).check()
        page.get_by_role("button", name="Create content set").click()
        expect(page.get_by_role("heading", name=f"Content set {key}")).to_be_visible()

    # the install screen's snippet, copied into a page of the site, and a click on its widget
    page.goto(f"{project_url}/install")
    expect(page.get_by_test_id("first-signal")).to_contain_text("Waiting for the first signal")
    snippets = page.locator(".snippet pre")
    expect(snippets).to_have_count(3)
    script, *widgets = [snippets.nth(n).inner_text() for n in range(3)]
    assert "fb_pk_" in script and "/sdk/v1/feelback.js" in script
    check_screen(page, artifacts, "install")
    visitor = browser.new_context(user_agent=BROWSER_UA)  # a person's browser (headless Chromium's own agent counts as a bot)
    site = visitor.new_page()
    html = f"<!doctype html><html lang='en'><title>Docs</title><body><main>{script}{''.join(widgets)}</main></body></html>"
    site.goto(site_pages.add("/guide", html))
    site.get_by_role("button", name=re.compile("^Upvote")).click()
    site.get_by_label("Your feedback").fill("The install guide skips the API key step")
    site.get_by_role("button", name="Send").click()
    for widget in ("feelback-updown", "feelback-form"):  # both acknowledged by the API
        expect(site.locator(widget).get_by_text("Thank you! Your feedback was sent.")).to_be_attached()
    visitor.close()

    page.get_by_role("link", name="Overview").click()  # how soon it shows: bench/newcomer.py, bench/freshness.py
    expect(page.get_by_test_id("kpi-signals").locator(".kpi-value")).to_have_text("2", timeout=30_000)
    page.get_by_role("link", name="Install").click()
    expect(page.get_by_test_id("first-signal")).to_contain_text("Signals are arriving")

    page.get_by_role("link", name="Inbox").click()
    messages = page.get_by_role("list", name="Messages").get_by_role("listitem")
    expect(messages).to_have_count(1)
    expect(messages.first).to_contain_text("skips the API key step")
    messages.first.get_by_role("button", name="Archive").click()
    expect(page.get_by_text("No new messages")).to_be_visible()

    page.get_by_role("link", name="Exports").click()
    page.get_by_label("Format").select_option("csv")
    page.get_by_role("button", name="Request export").click()
    expect(page.get_by_text("Waiting")).to_be_visible()
    run_pending_exports(panel_api)  # what the Dagster sensor's run does
    download_link = page.get_by_role("link", name="Download")
    expect(download_link).to_be_visible(timeout=10_000)
    check_screen(page, artifacts, "exports")
    with page.expect_download() as download:
        download_link.click()
    exported = download.value.path().read_text()
    assert "skips the API key step" in exported and "/guide" in exported

    page.get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", name="Members of Acme")).to_be_visible()
    viewer_email = new_email("viewer")
    page.get_by_label("E-mail").fill(viewer_email)
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text(f"Invitation sent to {viewer_email}")).to_be_visible()
    check_screen(page, artifacts, "members")

    # the viewer opens the invitation in their own browser, signs up, verifies, and joins
    viewer = browser.new_context(viewport={"width": 1200, "height": 900})
    guest = viewer.new_page()
    guest.goto(mailed_link(panel_mailbox, viewer_email, "invitations/accept"))
    expect(guest.get_by_text("You are invited to Acme as viewer")).to_be_visible()
    check_screen(guest, artifacts, "invitation")
    guest.get_by_role("link", name="Create an account").click()
    sign_up(guest, panel_api, panel_mailbox, viewer_email, "Vic")
    guest.get_by_role("button", name="Join Acme").click()
    expect(guest.get_by_role("heading", name="Projects of Acme")).to_be_visible()
    expect(guest.get_by_text("Your role (viewer) cannot create projects.")).to_be_visible()
    guest.get_by_role("link", name="Docs", exact=True).click()
    guest.get_by_role("navigation", name="Project").get_by_role("link", name="Settings").click()
    expect(guest.get_by_text("Your role can read these settings but not change them.")).to_be_visible()
    expect(guest.get_by_role("button", name="Save settings")).to_be_disabled()
    guest.goto(f"{project_url}/keys")
    expect(guest.get_by_text("Your role cannot create or revoke keys.")).to_be_visible()
    expect(guest.get_by_role("button", name=re.compile("^Revoke"))).to_have_count(0)
    guest.goto(f"{project_url}/inbox")
    expect(guest.get_by_text("Your role can read the inbox but not triage it.")).to_be_visible()
    guest.get_by_role("button", name="Sign out").click()
    expect(guest.get_by_role("heading", name="Sign in to Feelback")).to_be_visible()
    guest.goto(f"{project_url}/overview")
    expect(guest).to_have_url(re.compile(r"/app/signin$"))
    viewer.close()

    # the founder sees the viewer among the members, then signs out
    page.reload()
    expect(page.get_by_role("cell", name=f"Vic ({viewer_email})", exact=True)).to_be_visible()
    expect(page.get_by_label(f"Role of Vic ({viewer_email})")).to_have_value("viewer")

    # a second organization, and the switcher between them
    page.get_by_role("link", name="Feelback").click()
    page.get_by_text("Create another organization").click()
    page.get_by_label("Organization name").fill("Side project")
    page.get_by_role("button", name="Create organization").click()
    expect(page.get_by_role("heading", name="Projects of Side project")).to_be_visible()
    expect(page.get_by_text("No projects yet")).to_be_visible()
    page.get_by_label("Organization", exact=True).select_option(label="Acme")
    expect(page.get_by_role("heading", name="Projects of Acme")).to_be_visible()
    expect(page.get_by_role("link", name="Docs", exact=True)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Feelback")).to_be_visible()
    founder.close()


def test_password_reset_and_sign_in(browser, panel_api, panel_mailbox, artifacts):
    context = browser.new_context()
    page = context.new_page()
    email = new_email("forgetful")
    sign_up(page, panel_api, panel_mailbox, email, "")
    expect(page.get_by_role("heading", name="Welcome to Feelback")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_text("a link to choose a new password is on its way")).to_be_visible()
    page.goto(mailed_link(panel_mailbox, email, "reset-password"))
    check_screen(page, artifacts, "reset-password")
    page.get_by_label("New password").fill("another long password")
    page.get_by_role("button", name="Save and sign in").click()
    expect(page.get_by_role("heading", name="Welcome to Feelback")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Password").fill("another long password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Welcome to Feelback")).to_be_visible()
    context.close()
