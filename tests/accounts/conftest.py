"""Accounts tests: a real API app on a fresh control-plane DB (SQLite and PostgreSQL in turn) whose
mails go to a real SMTP server on loopback; helpers to read the links in those mails and to act as
a signed-in browser (cookies kept by the test client, CSRF header and Origin sent on writes).
"""

from __future__ import annotations

import email
import re
import time
import uuid
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient

from ingest_api.app import create_app
from tests.fixtures.control_db import control_settings  # noqa: F401
from tests.fixtures.smtp import RecordingHandler, smtp_controller

API_ORIGIN = "http://testserver"
PANEL_ORIGIN = "http://panel.feelback.test"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="package")
def smtp_server():
    with smtp_controller() as (controller, handler):
        yield controller, handler


@pytest.fixture()
def mailbox(smtp_server) -> RecordingHandler:
    return smtp_server[1]


@pytest.fixture()
def accounts_settings(control_settings, smtp_server):
    controller, _ = smtp_server
    return control_settings.model_copy(
        update={
            "smtp_url": f"smtp://{controller.hostname}:{controller.port}",
            "mail_from": "Feelback <accounts@feelback.test>",
            "public_url": API_ORIGIN,
            "panel_origins": PANEL_ORIGIN,
            "auth_secret": "test-auth-secret",
        }
    )


@pytest.fixture()
def app(accounts_settings):
    app = create_app(accounts_settings)
    yield app
    app.state.account_mail.mailer.wait()  # before the SMTP server may stop


@pytest.fixture()
def api(app) -> Iterator[TestClient]:
    with TestClient(app, base_url=API_ORIGIN) as client:
        yield client


def new_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


def parse(envelope) -> EmailMessage:
    return email.message_from_bytes(envelope.content, policy=policy.default)


def mail_text(envelope) -> str:
    return parse(envelope).get_body(preferencelist=("plain",)).get_content()


def link_tokens(mailbox: RecordingHandler, recipient: str, page: str) -> list[str]:
    pattern = re.compile(rf"{API_ORIGIN}/app/{re.escape(page)}\?token=(\S+)")
    return [found.group(1) for envelope in mailbox.to(recipient) if (found := pattern.search(mail_text(envelope)))]


def link_token(mailbox: RecordingHandler, recipient: str, page: str, count: int = 1, timeout: float = 10.0) -> str:
    """The token of the link to ``page`` in the ``count``-th such mail ``recipient`` received (waits for it)."""
    deadline = time.monotonic() + timeout
    while len(tokens := link_tokens(mailbox, recipient, page)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{recipient} got {len(tokens)} mail(s) with a /app/{page} link, expected {count}")
        time.sleep(0.02)
    return tokens[count - 1]


class Browser:
    """One person's browser: its own cookie jar; writes carry the panel's Origin and the CSRF token."""

    def __init__(self, app, origin: str = API_ORIGIN):
        self.client = TestClient(app, base_url=API_ORIGIN)
        self.origin = origin
        self.csrf = ""

    def remember(self, response):
        if response.status_code == 200 and "csrf_token" in response.json():
            self.csrf = response.json()["csrf_token"]
        return response

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def write(self, method: str, path: str, json=None, headers=None):
        headers = {"Origin": self.origin, "X-CSRF-Token": self.csrf, **(headers or {})}
        return self.remember(self.client.request(method, path, json=json, headers=headers))

    def post(self, path, json=None, **kwargs):
        return self.write("POST", path, json, **kwargs)


def sign_up_and_verify(app, mailbox, address: str, password: str = PASSWORD) -> Browser:
    browser = Browser(app)
    response = browser.post("/v1/auth/sign-up", {"email": address, "password": password})
    assert response.status_code == 202, response.text
    token = link_token(mailbox, address, "verify-email")
    verified = browser.post("/v1/auth/verify-email", {"token": token})
    assert verified.status_code == 200, verified.text
    return browser


def error_of(response) -> tuple[str, str]:
    body = response.json()
    return body["error"]["code"], body["error"]["message"]
