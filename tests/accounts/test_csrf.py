"""CSRF: a write that a session cookie authenticates must come from the API's origin or the panel's,
and carry the session's CSRF token. The cookie is sent explicitly here, as a browser would from a
sibling subdomain (same site, so SameSite=Lax would not hold it back)."""

from __future__ import annotations

import pytest

from ingest_api.auth.sessions import SESSION_COOKIE
from tests.accounts.conftest import API_ORIGIN, PANEL_ORIGIN, PASSWORD, Browser, error_of, new_email, sign_up_and_verify

EVIL = "https://evil.example"


@pytest.fixture()
def victim(app, mailbox) -> Browser:
    return sign_up_and_verify(app, mailbox, new_email("victim"))


def _raw(victim: Browser, method: str, path: str, headers: dict, **kwargs):
    """A request carrying the victim's cookie, with exactly the given headers (no CSRF token added)."""
    return victim.client.request(method, path, headers=headers, **kwargs)


def test_cross_site_form_post_is_refused(victim):
    # What <form method=post action=".../v1/organizations"> on another site sends.
    form = _raw(
        victim, "POST", "/v1/organizations",
        {"Origin": EVIL, "Sec-Fetch-Site": "cross-site", "Content-Type": "application/x-www-form-urlencoded"},
        content="name=Pwned",
    )
    assert form.status_code == 403 and error_of(form)[0] == "csrf_refused"
    # An old browser that sends no Origin on a form post still sends no CSRF token.
    bare = _raw(victim, "POST", "/v1/organizations", {"Content-Type": "application/x-www-form-urlencoded"}, content="name=Pwned")
    assert bare.status_code == 403 and error_of(bare)[0] == "csrf_refused"
    assert victim.get("/v1/organizations").json() == []


def test_cross_site_fetch_with_the_cookie_is_refused_even_with_the_token(victim):
    for headers in (
        {"Origin": EVIL},
        {"Origin": EVIL, "X-CSRF-Token": victim.csrf},  # even a leaked token does not help another origin
        {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": victim.csrf},
        {"Origin": "null", "X-CSRF-Token": victim.csrf},  # sandboxed frames, data: URLs
    ):
        refused = _raw(victim, "POST", "/v1/organizations", headers, json={"name": "Pwned"})
        assert refused.status_code == 403 and error_of(refused)[0] == "csrf_refused", headers
    for path in ("/v1/auth/sign-out", "/v1/auth/sign-out-everywhere"):
        assert _raw(victim, "POST", path, {"Origin": EVIL}).status_code == 403
    assert _raw(victim, "DELETE", "/v1/me", {"Origin": EVIL}, json={"password": PASSWORD}).status_code == 403
    assert victim.get("/v1/me").status_code == 200  # still signed in, nothing changed
    # reads are not writes, and a cross-origin script cannot read them: no CORS headers on private routes
    read = _raw(victim, "GET", "/v1/me", {"Origin": EVIL})
    assert "access-control-allow-origin" not in read.headers


def test_the_same_requests_from_the_panel_or_the_api_origin_pass(victim):
    for origin in (PANEL_ORIGIN, API_ORIGIN):
        created = _raw(victim, "POST", "/v1/organizations", {"Origin": origin, "X-CSRF-Token": victim.csrf}, json={"name": f"From {origin}"})
        assert created.status_code == 201, created.text
    same_origin_fetch = _raw(
        victim, "POST", "/v1/organizations", {"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": victim.csrf}, json={"name": "Fetch"}
    )
    assert same_origin_fetch.status_code == 201
    missing_token = _raw(victim, "POST", "/v1/organizations", {"Origin": PANEL_ORIGIN}, json={"name": "No token"})
    assert missing_token.status_code == 403 and "X-CSRF-Token" in error_of(missing_token)[1]
    wrong_token = _raw(victim, "POST", "/v1/organizations", {"Origin": PANEL_ORIGIN, "X-CSRF-Token": "x" * 43}, json={"name": "No"})
    assert wrong_token.status_code == 403


def test_management_writes_with_a_cookie_need_the_token_but_secret_keys_do_not(app, victim):
    org = victim.post("/v1/organizations", {"name": "Acme"}).json()["id"]
    created = victim.post(f"/v1/organizations/{org}/projects", {"name": "Docs"}).json()
    path = f"/v1/projects/{created['project']['id']}"
    refused = _raw(victim, "PATCH", path, {"Origin": EVIL}, json={"name": "Pwned"})
    assert refused.status_code == 403 and error_of(refused)[0] == "csrf_refused"
    assert _raw(victim, "PATCH", path, {"Origin": PANEL_ORIGIN}, json={"name": "Pwned"}).status_code == 403
    assert victim.write("PATCH", path, {"name": "Docs site"}).status_code == 200
    # a machine with the secret key is not a browser: no cookie, no CSRF
    machine = Browser(app)
    key = {"Authorization": f"Bearer {created['secret_key']}", "Origin": EVIL}
    assert machine.client.request("PATCH", path, headers=key, json={"name": "By key"}).status_code == 200
    assert SESSION_COOKIE not in machine.client.cookies


def test_sign_in_and_sign_up_from_another_site_are_refused(app, mailbox):
    address = new_email()
    sign_up_and_verify(app, mailbox, address)
    stranger = Browser(app, origin=EVIL)
    login_csrf = stranger.post("/v1/auth/sign-in", {"email": address, "password": PASSWORD})
    assert login_csrf.status_code == 403 and error_of(login_csrf)[0] == "csrf_refused"
    assert stranger.post("/v1/auth/sign-up", {"email": new_email(), "password": PASSWORD}).status_code == 403
    assert Browser(app, origin=PANEL_ORIGIN).post("/v1/auth/sign-in", {"email": address, "password": PASSWORD}).status_code == 200
