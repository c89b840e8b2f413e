"""Organization rules through the API: an organization always keeps an owner, only owners make owners,
anyone may leave, invitations are for one address and can be withdrawn, deleting takes everything."""

from __future__ import annotations

from pathlib import Path

from feelback.control_plane.users import OPERATOR_EMAIL
from ingest_api.app import create_app
from tests.accounts.conftest import Browser, error_of, link_token, link_tokens, new_email, sign_up_and_verify


def _join(owner: Browser, member: Browser, mailbox, org_id: str, role: str) -> str:
    address = member.get("/v1/me").json()["user"]["email"]
    count = len(link_tokens(mailbox, address, "invitations/accept")) + 1
    assert owner.post(f"/v1/organizations/{org_id}/invitations", {"email": address, "role": role}).status_code == 201
    token = link_token(mailbox, address, "invitations/accept", count=count)
    assert member.post("/v1/invitations/accept", {"token": token}).status_code == 200
    return member.get("/v1/me").json()["user"]["id"]


def test_owners_admins_and_leaving(app, mailbox):
    owner = sign_up_and_verify(app, mailbox, new_email("owner"))
    admin = sign_up_and_verify(app, mailbox, new_email("admin"))
    viewer = sign_up_and_verify(app, mailbox, new_email("viewer"))
    org = owner.post("/v1/organizations", {"name": "Acme"}).json()["id"]
    owner_id = owner.get("/v1/me").json()["user"]["id"]
    admin_id = _join(owner, admin, mailbox, org, "admin")
    viewer_id = _join(owner, viewer, mailbox, org, "viewer")
    members = f"/v1/organizations/{org}/members"

    last = owner.write("PATCH", f"{members}/{owner_id}", {"role": "admin"})
    assert last.status_code == 409 and "must keep an owner" in error_of(last)[1]
    assert owner.write("DELETE", f"{members}/{owner_id}").status_code == 409
    assert admin.write("PATCH", f"{members}/{viewer_id}", {"role": "owner"}).status_code == 403
    assert admin.write("PATCH", f"{members}/{owner_id}", {"role": "viewer"}).status_code == 403
    assert admin.write("DELETE", f"{members}/{owner_id}").status_code == 403
    assert admin.post(f"/v1/organizations/{org}/invitations", {"email": new_email(), "role": "owner"}).status_code == 403
    assert admin.write("PATCH", f"{members}/{viewer_id}", {"role": "member"}).json()["role"] == "member"
    assert viewer.write("DELETE", f"{members}/{admin_id}").status_code == 403  # a member removes no one else

    assert owner.write("PATCH", f"{members}/{admin_id}", {"role": "owner"}).status_code == 200
    assert owner.write("PATCH", f"{members}/{owner_id}", {"role": "viewer"}).status_code == 200  # another owner remains
    assert viewer.write("DELETE", f"{members}/{viewer_id}").status_code == 204  # leaving
    assert viewer.get(f"/v1/organizations/{org}").status_code == 404
    assert {m["role"] for m in admin.get(members).json()} == {"owner", "viewer"}
    assert owner.write("DELETE", f"/v1/organizations/{org}").status_code == 403  # a viewer now
    assert admin.write("DELETE", f"/v1/organizations/{org}").status_code == 204
    assert owner.get("/v1/organizations").json() == []


def test_invitations_are_for_one_address_and_can_be_withdrawn(app, mailbox):
    owner = sign_up_and_verify(app, mailbox, new_email("owner"))
    org = owner.post("/v1/organizations", {"name": "Acme"}).json()["id"]
    invited_address = new_email("invited")
    first = owner.post(f"/v1/organizations/{org}/invitations", {"email": invited_address, "role": "member"}).json()
    token = link_token(mailbox, invited_address, "invitations/accept")

    someone_else = sign_up_and_verify(app, mailbox, new_email("else"))
    wrong = someone_else.post("/v1/invitations/accept", {"token": token})
    assert wrong.status_code == 403 and invited_address in error_of(wrong)[1]
    assert someone_else.get(f"/v1/organizations/{org}").status_code == 404

    assert owner.write("DELETE", f"/v1/organizations/{org}/invitations/{first['id']}").json()["status"] == "withdrawn"
    invited = sign_up_and_verify(app, mailbox, invited_address)
    assert invited.post("/v1/invitations/preview", {"token": token}).json()["status"] == "withdrawn"
    assert invited.post("/v1/invitations/accept", {"token": token}).status_code == 410
    assert Browser(app).post("/v1/invitations/accept", {"token": token}).status_code == 401  # not signed in
    assert invited.post("/v1/invitations/preview", {"token": "forged.token.value"}).status_code == 400
    statuses = [i["status"] for i in owner.get(f"/v1/organizations/{org}/invitations").json()]
    assert statuses == ["withdrawn"]


def test_deleting_an_organization_takes_its_projects(app, mailbox):
    owner = sign_up_and_verify(app, mailbox, new_email("owner"))
    org = owner.post("/v1/organizations", {"name": "Acme"}).json()["id"]
    created = owner.post(f"/v1/organizations/{org}/projects", {"name": "Docs"}).json()
    project = created["project"]["id"]
    assert [p["id"] for p in owner.get(f"/v1/organizations/{org}/projects").json()] == [project]
    assert owner.write("PATCH", f"/v1/organizations/{org}", {"name": "Acme Inc"}).json()["name"] == "Acme Inc"
    assert owner.write("DELETE", f"/v1/organizations/{org}").status_code == 204
    machine = Browser(app)
    gone = machine.client.get(f"/v1/projects/{project}", headers={"Authorization": f"Bearer {created['secret_key']}"})
    assert gone.status_code == 401  # its keys went with it


def test_default_outbox_and_the_operator_account(accounts_settings, tmp_path):
    settings = accounts_settings.model_copy(update={"smtp_url": "", "home": tmp_path})
    app = create_app(settings)
    browser = Browser(app)
    address = new_email()
    assert browser.post("/v1/auth/sign-up", {"email": address, "password": "long enough password"}).status_code == 202
    app.state.account_mail.mailer.wait()
    outbox = list(Path(tmp_path, "outbox").glob("*.eml"))
    assert len(outbox) == 1 and address in outbox[0].read_text() and "/app/verify-email?token=" in outbox[0].read_text()
    # nobody gets a link for the operator account, not even into the outbox
    browser.post("/v1/auth/magic-link", {"email": OPERATOR_EMAIL})
    browser.post("/v1/auth/password-reset", {"email": OPERATOR_EMAIL})
    app.state.account_mail.mailer.wait()
    assert len(list(Path(tmp_path, "outbox").glob("*.eml"))) == 1
