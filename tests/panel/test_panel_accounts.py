"""A newcomer in Chromium: sign up, verify from the mail, create an organization and a project, invite
a viewer who joins from the mailed link and can read but not change; password reset; sign out."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.panel.panel_support import check_screen, mailed_link

PASSWORD = "a long enough password"


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


def test_newcomer_team_and_viewer(browser, panel_api, panel_mailbox, artifacts):
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
    page.get_by_label("Name").fill("Docs")
    page.get_by_label("Allowed origins").fill("https://docs.acme.test")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_text("is ready")).to_be_visible()
    page.get_by_role("link", name="Docs", exact=True).click()
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Content sets").click()
    page.get_by_role("button", name="New content set").click()
    page.get_by_label("Key").fill("docs")
    page.get_by_role("button", name="Create content set").click()
    expect(page.get_by_role("heading", name="Content set docs")).to_be_visible()
    project_url = page.url.rsplit("/sets/", 1)[0]

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
    guest.goto(f"{project_url}/sets")
    expect(guest.get_by_text("Your role can look at content sets but not change them.")).to_be_visible()
    guest.get_by_role("button", name="Sign out").click()
    expect(guest.get_by_role("heading", name="Sign in to Feelback")).to_be_visible()
    guest.goto(f"{project_url}/overview")
    expect(guest).to_have_url(re.compile(r"/app/signin$"))
    viewer.close()

    # the founder sees the viewer among the members
    page.reload()
    expect(page.get_by_role("cell", name=f"Vic ({viewer_email})", exact=True)).to_be_visible()
    expect(page.get_by_label(f"Role of Vic ({viewer_email})")).to_have_value("viewer")
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
