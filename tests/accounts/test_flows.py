"""Every account flow end to end through the API, reading the mails the loopback SMTP server received."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from feelback.control_plane.account_models import User, UserSession
from feelback.control_plane.db import get_engine, get_sessionmaker
from feelback.control_plane.sessions import session_hash
from ingest_api.app import create_app
from ingest_api.auth.sessions import CSRF_COOKIE, SESSION_COOKIE
from ingest_api.routers.accounts import CHECK_INBOX
from tests.accounts.conftest import PASSWORD, Browser, error_of, link_token, mail_text, new_email, parse, sign_up_and_verify


def _sign_in(browser: Browser, address: str, password: str = PASSWORD):
    return browser.post("/v1/auth/sign-in", {"email": address, "password": password})


def test_sign_up_verify_and_the_session_cookie(app, mailbox, accounts_settings):
    address = new_email()
    browser = Browser(app)
    accepted = browser.post("/v1/auth/sign-up", {"email": address.upper(), "password": PASSWORD, "name": "Ada"})
    assert accepted.status_code == 202
    assert browser.get("/v1/me").status_code == 401  # not signed in yet

    refused = _sign_in(browser, address)
    assert refused.status_code == 403 and error_of(refused)[0] == "email_not_verified"

    message = parse(mailbox.wait_for(address)[0])
    assert message["From"] == "Feelback <accounts@feelback.test>" and message["Subject"] == "Confirm your e-mail address for Feelback"
    token = link_token(mailbox, address, "verify-email")
    verified = browser.post("/v1/auth/verify-email", {"token": token})
    assert verified.status_code == 200
    me = verified.json()
    assert me["user"]["email"] == address and me["user"]["name"] == "Ada" and me["user"]["has_password"]
    cookie = verified.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookie if c.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie and "Path=/" in session_cookie
    assert "Secure" not in session_cookie  # served over plain HTTP here
    csrf_cookie = next(c for c in cookie if c.startswith(f"{CSRF_COOKIE}="))
    assert "HttpOnly" not in csrf_cookie and me["csrf_token"] in csrf_cookie
    assert browser.get("/v1/me").json()["user"]["id"] == me["user"]["id"]

    # the verification link is used up, and only the session's hash is stored
    again = browser.post("/v1/auth/verify-email", {"token": token})
    assert again.status_code == 410 and error_of(again)[0] == "link_used"
    session_id = browser.client.cookies[SESSION_COOKIE]
    with get_engine(accounts_settings).connect() as connection:
        dump = repr(connection.execute(text("SELECT * FROM user_sessions")).all())
        password_hash = connection.execute(text("SELECT password_hash FROM users WHERE email = :e"), {"e": address}).scalar()
    assert session_id not in dump and session_hash(session_id) in dump
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash

    bad = browser.post("/v1/auth/verify-email", {"token": token[:-3] + "abc"})
    assert bad.status_code == 400 and error_of(bad)[0] == "invalid_link"


def test_sign_up_over_https_sets_secure_cookies(accounts_settings, mailbox):
    address = new_email()
    settings = accounts_settings.model_copy(update={"public_url": "https://feelback.example"})
    app = create_app(settings)
    client = TestClient(app, base_url="https://feelback.example")
    assert client.post("/v1/auth/sign-up", json={"email": address, "password": PASSWORD}).status_code == 202
    token = link_token_https(mailbox, address)
    verified = client.post("/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200
    assert all("Secure" in cookie for cookie in verified.headers.get_list("set-cookie"))


def link_token_https(mailbox, address):
    mailbox.wait_for(address)
    text_ = mail_text(mailbox.to(address)[0])
    return text_.split("https://feelback.example/app/verify-email?token=", 1)[1].split()[0]


def test_sign_up_with_a_taken_address_tells_only_its_owner(app, mailbox):
    address = new_email()
    sign_up_and_verify(app, mailbox, address)
    stranger = Browser(app)
    fresh_address = new_email()
    answer = stranger.post("/v1/auth/sign-up", {"email": address, "password": "some other password"})
    fresh = stranger.post("/v1/auth/sign-up", {"email": fresh_address, "password": "some other password"})
    assert (answer.status_code, answer.json()) == (202, {"message": CHECK_INBOX.format(email=address)})
    assert (fresh.status_code, fresh.json()) == (202, {"message": CHECK_INBOX.format(email=fresh_address)})
    mails = mailbox.wait_for(address, 2)
    assert parse(mails[1])["Subject"] == "Someone tried to sign up with your address"
    assert _sign_in(Browser(app), address, "some other password").status_code == 401

    short = stranger.post("/v1/auth/sign-up", {"email": new_email(), "password": "short"})
    assert short.status_code == 422 and "at least 10 characters" in error_of(short)[1]
    assert stranger.post("/v1/auth/sign-up", {"email": "not-an-address", "password": PASSWORD}).status_code == 422


def test_sign_in_out_and_everywhere(app, mailbox):
    address = new_email()
    sign_up_and_verify(app, mailbox, address)
    laptop, phone = Browser(app), Browser(app)
    wrong = _sign_in(laptop, address, "wrong password!")
    unknown = _sign_in(laptop, new_email(), "wrong password!")
    assert wrong.status_code == unknown.status_code == 401 and error_of(wrong) == error_of(unknown)
    assert _sign_in(laptop, address).status_code == 200
    assert _sign_in(phone, address.upper()).status_code == 200

    assert laptop.post("/v1/auth/sign-out").status_code == 204
    assert laptop.get("/v1/me").status_code == 401
    assert phone.get("/v1/me").status_code == 200

    again = Browser(app)
    assert _sign_in(again, address).status_code == 200
    assert again.post("/v1/auth/sign-out-everywhere").status_code == 204
    for browser in (again, phone):
        assert browser.get("/v1/me").status_code == 401
    # ended sessions are deleted when the account signs in again
    assert _sign_in(Browser(app), address).status_code == 200
    with get_sessionmaker(app.state.settings)() as db:
        user_id = db.scalar(select(User.id).where(User.email == address))
        rows = db.scalars(select(UserSession).where(UserSession.user_id == user_id)).all()
    assert [row.revoked_at for row in rows] == [None]


def test_magic_link_works_once(app, mailbox):
    address = new_email()
    sign_up_and_verify(app, mailbox, address)
    browser = Browser(app)
    assert browser.post("/v1/auth/magic-link", {"email": address}).status_code == 202
    assert browser.post("/v1/auth/magic-link", {"email": new_email()}).status_code == 202
    token = link_token(mailbox, address, "sign-in/link")
    signed_in = browser.post("/v1/auth/magic-link/sign-in", {"token": token})
    assert signed_in.status_code == 200 and signed_in.json()["user"]["email"] == address
    used = Browser(app).post("/v1/auth/magic-link/sign-in", {"token": token})
    assert used.status_code == 410 and error_of(used)[0] == "link_used"
    # a link of another purpose is no sign-in link
    verify_token = link_token(mailbox, address, "verify-email")
    assert Browser(app).post("/v1/auth/magic-link/sign-in", {"token": verify_token}).status_code == 400


def test_magic_link_to_an_unconfirmed_account_drops_the_password_someone_else_chose(app, mailbox):
    address = new_email()
    squatter = Browser(app)
    assert squatter.post("/v1/auth/sign-up", {"email": address, "password": "squatters password"}).status_code == 202
    owner = Browser(app)
    owner.post("/v1/auth/magic-link", {"email": address})
    assert owner.post("/v1/auth/magic-link/sign-in", {"token": link_token(mailbox, address, "sign-in/link")}).status_code == 200
    assert owner.get("/v1/me").json()["user"]["has_password"] is False
    assert _sign_in(squatter, address, "squatters password").status_code == 401
    # and the squatter's verification link died with the used sign-in link
    assert squatter.post("/v1/auth/verify-email", {"token": link_token(mailbox, address, "verify-email")}).status_code == 410
    # an account without a password is deleted without one
    assert owner.write("DELETE", "/v1/me").status_code == 204
    assert owner.get("/v1/me").status_code == 401


def test_password_reset_ends_other_sessions_and_works_once(app, mailbox):
    address = new_email()
    old_browser = sign_up_and_verify(app, mailbox, address)
    browser = Browser(app)
    assert browser.post("/v1/auth/password-reset", {"email": address}).status_code == 202
    assert browser.post("/v1/auth/password-reset", {"email": new_email()}).status_code == 202
    token = link_token(mailbox, address, "reset-password")
    weak = browser.post("/v1/auth/password-reset/confirm", {"token": token, "password": "short"})
    assert weak.status_code == 422
    done = browser.post("/v1/auth/password-reset/confirm", {"token": token, "password": "a brand new password"})
    assert done.status_code == 200
    assert old_browser.get("/v1/me").status_code == 401
    assert browser.get("/v1/me").status_code == 200
    assert browser.post("/v1/auth/password-reset/confirm", {"token": token, "password": "yet another password"}).status_code == 410
    assert _sign_in(Browser(app), address).status_code == 401
    assert _sign_in(Browser(app), address, "a brand new password").status_code == 200


def test_change_password_email_and_name(app, mailbox):
    address = new_email()
    browser = sign_up_and_verify(app, mailbox, address)
    other = Browser(app)
    assert _sign_in(other, address).status_code == 200

    assert browser.write("PATCH", "/v1/me", {"name": "Grace"}).json()["user"]["name"] == "Grace"
    wrong = browser.write("PUT", "/v1/me/password", {"current_password": "not my password", "new_password": "a better password"})
    assert wrong.status_code == 403
    assert browser.write("PUT", "/v1/me/password", {"current_password": PASSWORD, "new_password": "a better password"}).status_code == 204
    assert other.get("/v1/me").status_code == 401 and browser.get("/v1/me").status_code == 200

    new_address = new_email("moved")
    asked = browser.post("/v1/me/email", {"new_email": new_address, "password": "a better password"})
    assert asked.status_code == 202
    token = link_token(mailbox, new_address, "confirm-email")
    assert browser.get("/v1/me").json()["user"]["email"] == address  # not before the link is followed
    confirmed = Browser(app).post("/v1/auth/email-change/confirm", {"token": token})
    assert confirmed.status_code == 200
    assert browser.get("/v1/me").json()["user"]["email"] == new_address
    notice = mailbox.wait_for(address, 2)[-1]
    assert parse(notice)["Subject"] == "Your Feelback address was changed" and new_address in mail_text(notice)
    assert _sign_in(Browser(app), new_address, "a better password").status_code == 200
    assert Browser(app).post("/v1/auth/email-change/confirm", {"token": token}).status_code == 410


def test_delete_own_account(app, mailbox, accounts_settings):
    owner_address, colleague_address = new_email("owner"), new_email("colleague")
    owner = sign_up_and_verify(app, mailbox, owner_address)
    colleague = sign_up_and_verify(app, mailbox, colleague_address)
    shared = owner.post("/v1/organizations", {"name": "Shared"}).json()["id"]
    solo = owner.post("/v1/organizations", {"name": "Solo"}).json()["id"]
    solo_project = owner.post(f"/v1/organizations/{solo}/projects", {"name": "Solo site"}).json()["project"]["id"]
    owner.post(f"/v1/organizations/{shared}/invitations", {"email": colleague_address, "role": "admin"})
    assert colleague.post("/v1/invitations/accept", {"token": link_token(mailbox, colleague_address, "invitations/accept")}).status_code == 200

    assert owner.write("DELETE", "/v1/me", {"password": "wrong password!"}).status_code == 403
    blocked = owner.write("DELETE", "/v1/me", {"password": PASSWORD})
    assert blocked.status_code == 409 and "Shared" in error_of(blocked)[1]
    colleague_id = colleague.get("/v1/me").json()["user"]["id"]
    assert owner.write("PATCH", f"/v1/organizations/{shared}/members/{colleague_id}", {"role": "owner"}).status_code == 200
    assert owner.write("DELETE", "/v1/me", {"password": PASSWORD}).status_code == 204
    assert owner.get("/v1/me").status_code == 401
    assert _sign_in(Browser(app), owner_address).status_code == 401
    with get_sessionmaker(accounts_settings)() as db:
        assert db.scalar(select(User).where(User.email == owner_address)) is None
        assert db.execute(text("SELECT count(*) FROM projects WHERE id = :id"), {"id": solo_project}).scalar() == 0
    assert [m["email"] for m in colleague.get(f"/v1/organizations/{shared}/members").json()] == [colleague_address]


def test_sessions_expire_when_idle_and_at_their_age_limit(app, mailbox, accounts_settings):
    address = new_email()
    browser = sign_up_and_verify(app, mailbox, address)
    token_hash = session_hash(browser.client.cookies[SESSION_COOKIE])
    assert browser.get("/v1/me").status_code == 200
    maker = get_sessionmaker(accounts_settings)

    with maker.begin() as db:  # unused for longer than the idle limit
        row = db.get(UserSession, token_hash)
        row.last_seen_at = row.last_seen_at - dt.timedelta(seconds=accounts_settings.session_idle_seconds + 1)
    assert browser.get("/v1/me").status_code == 401

    _sign_in(browser, address)
    token_hash = session_hash(browser.client.cookies[SESSION_COOKIE])
    with maker.begin() as db:  # used a minute ago, but past its absolute expiry
        row = db.get(UserSession, token_hash)
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert browser.get("/v1/me").status_code == 401

    _sign_in(browser, address)
    token_hash = session_hash(browser.client.cookies[SESSION_COOKIE])
    with maker.begin() as db:  # a use pushes the idle limit forward
        row = db.get(UserSession, token_hash)
        row.last_seen_at = row.last_seen_at - dt.timedelta(seconds=accounts_settings.session_idle_seconds - 120)
    before = browser.get("/v1/me").json()["session_expires_at"]
    with maker() as db:
        assert db.get(UserSession, token_hash).last_seen_at > dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)
    assert before > (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=accounts_settings.session_idle_seconds - 60)).isoformat()
