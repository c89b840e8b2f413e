"""The issue's story end to end: a newcomer signs up, verifies, creates an organization and a
project, invites a colleague as viewer; the viewer reads but cannot change."""

from __future__ import annotations

from tests.accounts.conftest import error_of, link_token, mail_text, new_email, sign_up_and_verify


def test_newcomer_to_team_of_two(app, api, mailbox):
    founder_email = new_email("founder")
    founder = sign_up_and_verify(app, mailbox, founder_email)
    me = founder.get("/v1/me").json()
    assert me["user"]["email"] == founder_email and me["user"]["verified_at"] and me["organizations"] == []

    org = founder.post("/v1/organizations", {"name": "Acme"})
    assert org.status_code == 201 and org.json()["role"] == "owner"
    org_id = org.json()["id"]
    created = founder.post(f"/v1/organizations/{org_id}/projects", {"name": "Docs", "allowed_origins": ["https://acme.com"]})
    assert created.status_code == 201, created.text
    project_id = created.json()["project"]["id"]
    assert created.json()["project"]["organization_id"] == org_id
    assert founder.post(f"/v1/projects/{project_id}/content-sets", {"key": "docs", "signal_type": "updown"}).status_code == 201

    colleague_email = new_email("colleague")
    invited = founder.post(f"/v1/organizations/{org_id}/invitations", {"email": colleague_email, "role": "viewer"})
    assert invited.status_code == 201 and invited.json()["status"] == "open"
    invitation = mail_text(mailbox.wait_for(colleague_email)[0])
    assert "Acme" in invitation and "viewer" in invitation
    invitation_token = link_token(mailbox, colleague_email, "invitations/accept")

    colleague = sign_up_and_verify(app, mailbox, colleague_email, "another long password")
    preview = colleague.post("/v1/invitations/preview", {"token": invitation_token}).json()
    assert (preview["organization_name"], preview["role"], preview["status"]) == ("Acme", "viewer", "open")
    accepted = colleague.post("/v1/invitations/accept", {"token": invitation_token})
    assert accepted.status_code == 200 and accepted.json()["role"] == "viewer"
    assert colleague.post("/v1/invitations/accept", {"token": invitation_token}).status_code == 410

    assert colleague.get(f"/v1/projects/{project_id}").status_code == 200
    assert [s["key"] for s in colleague.get(f"/v1/projects/{project_id}/content-sets").json()] == ["docs"]
    refused = colleague.write("PATCH", f"/v1/projects/{project_id}", {"name": "Mine now"})
    assert refused.status_code == 403 and error_of(refused)[0] == "role_too_weak"
    assert colleague.post(f"/v1/projects/{project_id}/content-sets", {"key": "x", "signal_type": "like"}).status_code == 403
    members = founder.get(f"/v1/organizations/{org_id}/members").json()
    assert {(m["email"], m["role"]) for m in members} == {(founder_email, "owner"), (colleague_email, "viewer")}

    # removing the colleague ends their access with the answer
    assert founder.write("DELETE", f"/v1/organizations/{org_id}/members/{colleague.get('/v1/me').json()['user']['id']}").status_code == 204
    gone = colleague.get(f"/v1/projects/{project_id}")
    assert gone.status_code == 404
    assert colleague.get(f"/v1/organizations/{org_id}").status_code == 404
