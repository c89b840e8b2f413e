"""Names that reach a mail header (an invitation's Subject names the inviter and the organization)
hold no control characters: refused with a 422 naming the field; one stored before that rule still
gives a one-line Subject, not an injected header. Ids past 64 bits are a 422, not a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from feelback.control_plane.account_models import User
from feelback.control_plane.db import session_scope
from tests.accounts.conftest import PASSWORD, Browser, error_of, link_token, new_email, parse, sign_up_and_verify

INJECTED = "Mallory\r\nBcc: victim@example.com"


@pytest.mark.parametrize("bad", [INJECTED, "tab\there", "line\u2028break"])
def test_names_with_control_characters_are_a_422(app, mailbox, bad):
    fresh = Browser(app)
    refused = fresh.post("/v1/auth/sign-up", {"email": new_email(), "password": PASSWORD, "name": bad})
    assert refused.status_code == 422 and error_of(refused)[1].startswith("name: must not contain control characters"), refused.text

    owner = sign_up_and_verify(app, mailbox, new_email("owner"))
    refused = owner.write("PATCH", "/v1/me", {"name": bad})
    assert refused.status_code == 422 and "name" in error_of(refused)[1], refused.text
    refused = owner.post("/v1/organizations", {"name": bad})
    assert refused.status_code == 422 and "control characters" in error_of(refused)[1], refused.text
    org = owner.post("/v1/organizations", {"name": "Acme"}).json()["id"]
    refused = owner.write("PATCH", f"/v1/organizations/{org}", {"name": bad})
    assert refused.status_code == 422 and "control characters" in error_of(refused)[1], refused.text


def test_a_name_stored_before_the_rule_gives_a_one_line_subject(app, mailbox, accounts_settings):
    address = new_email("owner")
    owner = sign_up_and_verify(app, mailbox, address)
    org = owner.post("/v1/organizations", {"name": "Acme"}).json()["id"]
    with session_scope(accounts_settings) as session:
        session.execute(update(User).where(User.email == address).values(name=INJECTED))
    invited = new_email("invited")
    answer = owner.post(f"/v1/organizations/{org}/invitations", {"email": invited, "role": "member"})
    assert answer.status_code == 201, answer.text
    link_token(mailbox, invited, "invitations/accept")
    [envelope] = [m for m in mailbox.messages if invited in m.rcpt_tos]
    assert envelope.rcpt_tos == [invited]
    message = parse(envelope)
    assert message["Subject"] == "Mallory Bcc: victim@example.com invites you to Acme on Feelback"
    assert message["Bcc"] is None


def test_an_invitation_id_past_64_bits_is_a_422(app, mailbox):
    owner = sign_up_and_verify(app, mailbox, new_email("owner"))
    org = owner.post("/v1/organizations", {"name": "Acme"}).json()["id"]
    refused = owner.write("DELETE", f"/v1/organizations/{org}/invitations/{2**64}")
    assert refused.status_code == 422 and "invitation_id" in error_of(refused)[1], refused.text


def test_the_cli_and_every_other_caller_of_create_user_refuse_such_names(accounts_settings):
    from feelback.control_plane.users import create_user

    with session_scope(accounts_settings) as session, pytest.raises(ValueError, match="name must not contain control characters"):
        create_user(session, new_email(), name=INJECTED)
