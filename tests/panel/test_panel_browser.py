"""The panel in Debian's Chromium against a real API: sign in, projects, settings, keys; axe-core on
every screen in both themes (screenshots in test-artifacts/), and a phone-sized viewport."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.panel.panel_support import ADMIN_TOKEN, axe_violations, check_screen


@pytest.fixture()
def context(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    yield context
    context.close()


def sign_in(page, api, token: str) -> None:
    page.goto(f"{api.url}/app/")
    expect(page).to_have_url(re.compile(r"/app/signin$"))
    page.get_by_text("Sign in with a secret key or the admin token").click()
    page.get_by_label("Secret key or admin token").fill(token)
    page.get_by_role("button", name="Sign in with the key").click()


def test_sign_in_screen_is_accessible_and_refuses_bad_tokens(context, panel_api, artifacts):
    page = context.new_page()
    page.goto(f"{panel_api.url}/app/")
    expect(page.get_by_role("heading", name="Sign in to Feelback")).to_be_visible()
    check_screen(page, artifacts, "signin")

    page.get_by_label("E-mail").fill("nobody@example.com")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("e-mail address or the password is wrong")
    page.reload()

    page.get_by_text("Sign in with a secret key or the admin token").click()
    page.get_by_label("Secret key or admin token").fill(panel_api.project.public_key)
    page.get_by_role("button", name="Sign in with the key").click()
    expect(page.get_by_role("alert")).to_contain_text("public key")

    page.get_by_label("Secret key or admin token").fill("fb_sk_thisisnotarealkey")
    page.get_by_role("button", name="Sign in with the key").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    assert axe_violations(page) == []


def test_secret_key_opens_its_project_settings_and_keys(context, panel_api, artifacts):
    page = context.new_page()
    project = panel_api.project
    sign_in(page, panel_api, project.secret_key)
    expect(page).to_have_url(re.compile(rf"/app/p/{project.id}/overview$"))

    page.get_by_role("navigation", name="Project").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    check_screen(page, artifacts, "settings")
    page.get_by_label("Name", exact=True).fill("Docs site")
    page.get_by_label("Allowed origins").fill("https://docs.example.com\nhttps://www.example.com")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    stored = httpx.get(f"{panel_api.url}/v1/projects/{project.id}", headers={"Authorization": f"Bearer {project.secret_key}"}).json()
    assert stored["name"] == "Docs site"
    assert stored["allowed_origins"] == ["https://docs.example.com", "https://www.example.com"]

    page.get_by_role("link", name="Keys").click()
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    expect(page.get_by_role("row")).to_have_count(3)  # header, the public key, the secret key
    check_screen(page, artifacts, "keys")
    page.get_by_label("Kind").select_option("public")
    page.get_by_label("Name", exact=True).fill("Blog pages")
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_test_id("shown-once")
    expect(shown).to_contain_text("fb_pk_")
    new_key = shown.inner_text()
    expect(page.get_by_role("row")).to_have_count(4)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile(rf"Revoke {re.escape(new_key[:12])}")).click()
    expect(page.get_by_text(re.compile("^Revoked"))).to_be_visible()
    refused = httpx.get(f"{panel_api.url}/v1/stats/votes", params={"key": new_key})
    assert refused.status_code == 401

    # a reload keeps the sign-in of this tab; signing out forgets it
    page.reload()
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Feelback")).to_be_visible()
    page.goto(f"{panel_api.url}/app/p/{project.id}/keys")
    expect(page).to_have_url(re.compile(r"/app/signin$"))


def test_admin_token_lists_and_creates_projects_on_a_phone(browser, panel_api, artifacts):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, panel_api, ADMIN_TOKEN)
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Ingest tests|Docs site"))).to_be_visible()

    page.get_by_label("Name").fill("Shop")
    page.get_by_label("Allowed origins").fill("https://shop.example.com")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_text("is ready")).to_be_visible()
    expect(page.get_by_test_id("shown-once").first).to_contain_text("fb_pk_")
    expect(page.get_by_role("link", name="Shop")).to_be_visible()
    check_screen(page, artifacts, "projects-360px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # the operator (every right) deletes it again from its settings, after typing its name
    page.get_by_role("link", name="Shop").click()
    page.get_by_role("link", name="Settings").click()
    page.get_by_text("Delete this project").click()
    expect(page.get_by_role("button", name="Delete project")).to_be_disabled()
    page.get_by_label(re.compile("Type the project's name")).fill("Shop")
    page.get_by_role("button", name="Delete project").click()
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Shop")).to_have_count(0)
    context.close()


def test_the_panel_refuses_what_its_policy_does_not_allow(context, panel_api):
    """The strict Content-Security-Policy is in force, and what it blocks is caught by the screen checks."""
    page = context.new_page()
    response = page.goto(f"{panel_api.url}/app/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "require-trusted-types-for 'script'" in policy and "trusted-types panel feelback" in policy
    assert (response.headers["cross-origin-opener-policy"], response.headers["x-frame-options"]) == ("same-origin", "DENY")
    expect(page.get_by_role("heading", name="Sign in to Feelback")).to_be_visible()
    assert context.policy_reports == []

    # visitor's text given to the DOM as HTML: Trusted Types refuse a plain string
    refused = page.evaluate(
        """() => { try { document.body.insertAdjacentHTML("beforeend", '<b id="plain">x</b>'); return null } catch (e) { return e.name } }"""
    )
    assert refused == "TypeError" and page.locator("#plain").count() == 0
    assert "require-trusted-types-for" in "\n".join(context.policy_reports), context.policy_reports
    # and had it come through an allowed policy (the SDK's, escaping wrongly): its script does not run,
    # its inline style is not applied
    page.evaluate(
        """() => { const policy = trustedTypes.createPolicy("feelback", { createHTML: (html) => html });
        const box = document.createElement("div"); box.id = "hostile";
        box.innerHTML = policy.createHTML('<img src="data:," onerror="document.title = \\'pwned\\'"><b style="color: rgb(255, 0, 0)">x</b>');
        document.body.append(box); }"""
    )
    expect(page.locator("#hostile b")).to_be_attached()
    page.wait_for_timeout(200)
    assert page.title() != "pwned"
    assert page.evaluate("getComputedStyle(document.querySelector('#hostile b')).color") != "rgb(255, 0, 0)"
    reports = "\n".join(context.policy_reports)
    assert "script-src-attr" in reports and "style-src-attr" in reports, reports
