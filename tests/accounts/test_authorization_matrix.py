"""The authorization matrix, generated from the OpenAPI schema: every private operation (those under
/v1/projects and /v1/organizations) is called by every kind of caller, and the answer is what the
caller's role allows. A call that changed something is followed by a fresh organization and project,
so destructive calls that are allowed really run. A caller outside the organization never learns that it exists: the answer is the
404 an unknown id gets."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from feelback.control_plane.account_models import Invitation, Membership, Role, User
from feelback.control_plane.links import LinkPurpose
from feelback.control_plane.db import get_sessionmaker
from feelback.control_plane.keys import KeyKind
from feelback.control_plane.models import ContentSet, ExportFormat, ExportRequest, RecapFrequency, RecapSubscription, utcnow
from feelback.control_plane.organizations import create_organization, invitation_hash
from feelback.control_plane.projects import create_project, issue_key
from feelback.control_plane.sessions import revoke_session, start_session
from feelback.control_plane.users import create_user
from feelback.domain import SignalType
from ingest_api.auth.permissions import OPERATOR, SIGNED_IN
from ingest_api.auth.sessions import SESSION_COOKIE
from tests.accounts.conftest import API_ORIGIN
from tests.fixtures.control_db import ADMIN_TOKEN

V, M, A, O = Role.viewer, Role.member, Role.admin, Role.owner
P = "/v1/projects/{project_id}"
G = "/v1/organizations/{org_id}"

# What each private operation must allow, written here independently of ROUTE_ROLES; a new private
# route fails this test until it is added. DELETE members/{user_id} targets another member here.
EXPECTED: dict[str, Role | str] = {
    "POST /v1/projects": OPERATOR, "GET /v1/projects": OPERATOR,
    f"GET {P}": V, f"PATCH {P}": A, f"DELETE {P}": O,
    f"GET {P}/retention": V, f"PUT {P}/retention": A,
    f"GET {P}/keys": V, f"POST {P}/keys": A, f"DELETE {P}/keys/{{key_id}}": A,
    f"GET {P}/content-sets": V, f"POST {P}/content-sets": M, f"GET {P}/content-sets/{{set_key}}": V,
    f"PATCH {P}/content-sets/{{set_key}}": M, f"DELETE {P}/content-sets/{{set_key}}": M,
    f"GET {P}/recap-subscriptions": V, f"POST {P}/recap-subscriptions": M,
    f"DELETE {P}/recap-subscriptions/{{subscription_id}}": M,
    f"GET {P}/signals": V, f"PUT {P}/signals/{{signal_id}}/triage": M, f"POST {P}/signals/triage": M,
    f"GET {P}/overview": V,
    f"GET {P}/erasures": V, f"GET {P}/erasures/preview": V, f"POST {P}/erasures": A,
    f"GET {P}/recaps/preview": V,
    f"POST {P}/exports": M, f"GET {P}/exports": V, f"GET {P}/exports/{{export_id}}": V,
    "GET /v1/organizations": SIGNED_IN, "POST /v1/organizations": SIGNED_IN,
    f"GET {G}": V, f"PATCH {G}": A, f"DELETE {G}": O,
    f"GET {G}/projects": V, f"POST {G}/projects": A,
    f"GET {G}/members": V, f"PATCH {G}/members/{{user_id}}": A, f"DELETE {G}/members/{{user_id}}": A,
    f"GET {G}/invitations": A, f"POST {G}/invitations": A, f"DELETE {G}/invitations/{{invitation_id}}": A,
}

BODIES = {
    "POST /v1/projects": {"name": "Made by the operator"},
    f"PATCH {P}": {"name": "Renamed"},
    f"PUT {P}/retention": {"days": 30},
    f"POST {P}/keys": {"kind": "secret", "name": "ci"},
    f"POST {P}/content-sets": {"key": "fresh", "signal_type": "like"},
    f"PATCH {P}/content-sets/{{set_key}}": {"name": "Docs pages"},
    f"POST {P}/recap-subscriptions": {"email": "team@example.com", "frequency": "weekly"},
    f"PUT {P}/signals/{{signal_id}}/triage": {"state": "read"},
    f"POST {P}/signals/triage": {"signal_ids": ["00000000-0000-4000-8000-000000000000"], "state": "read"},
    f"POST {P}/exports": {"format": "csv"},
    "POST /v1/organizations": {"name": "Another"},
    f"PATCH {G}": {"name": "Renamed"},
    f"POST {G}/projects": {"name": "New site"},
    f"PATCH {G}/members/{{user_id}}": {"role": "member"},
    f"POST {G}/invitations": {"email": "new@example.com", "role": "viewer"},
    f"POST {P}/erasures": {"visitor_id": "visitor-1"},
}
QUERIES = {f"GET {P}/erasures/preview": {"visitor_id": "visitor-1"}}

ROLE_CALLERS = ("owner", "admin", "member", "viewer")
STRANGERS = ("other org's owner", "removed member", "expired invitee")
CALLERS = (*ROLE_CALLERS, *STRANGERS, "revoked session", "own project's secret key", "other project's secret key",
           "public key", "admin token", "anonymous")


@dataclass
class World:
    """One organization with a project and one of everything its routes act on."""

    params: dict[str, str]
    secret_key: str
    public_key: str


def private_operations(app) -> list[str]:
    schema = app.openapi()
    return sorted(
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        if path.startswith(("/v1/projects", "/v1/organizations"))
        for method in operations
    )


class Callers:
    """People (sessions made straight in the DB: no Argon2 work), keys and clients, made once per test."""

    def __init__(self, app, settings):
        self.app, self.settings = app, settings
        self.maker = get_sessionmaker(settings)
        self.clients: dict[str, TestClient] = {}
        self.csrf: dict[str, str] = {}
        with self.maker.begin() as db:
            self.users = {name: create_user(db, f"{name.replace(' ', '-').replace(chr(39), '')}-{uuid.uuid4().hex[:6]}@example.com", verified=True).id
                          for name in (*ROLE_CALLERS, *STRANGERS)}
            other = create_project(db, "Other org's site", owner=db.get(User, self.users["other org's owner"]))
            self.other_secret = other.secret_key
            for name, user_id in self.users.items():
                user = db.get(User, user_id)
                row, token = start_session(db, user, settings)
                self._client(name, token, row.csrf_token)
            row, token = start_session(db, db.get(User, self.users["owner"]), settings)
            revoke_session(db, token)
            self._client("revoked session", token, row.csrf_token)
        for name in ("own project's secret key", "other project's secret key", "public key", "admin token", "anonymous"):
            self.clients[name] = TestClient(app, base_url=API_ORIGIN)

    def _client(self, name: str, token: str, csrf: str) -> None:
        client = TestClient(self.app, base_url=API_ORIGIN)
        client.cookies.set(SESSION_COOKIE, token)
        self.clients[name], self.csrf[name] = client, csrf

    def world(self) -> World:
        """A fresh organization where owner/admin/member/viewer have their role, the removed member was
        one, the invitee's invitation expired; its project has a content set, a spare secret key, a
        subscription, an export, an open invitation and a spare member to act on."""
        with self.maker.begin() as db:
            owner = db.get(User, self.users["owner"])
            org = create_organization(db, "Acme", owner)
            for name in ("admin", "member", "viewer"):
                db.add(Membership(organization_id=org.id, user_id=self.users[name], role=Role(name)))
            spare = create_user(db, f"spare-{uuid.uuid4().hex[:8]}@example.com", verified=True)
            db.add(Membership(organization_id=org.id, user_id=spare.id, role=Role.viewer))
            removed = Membership(organization_id=org.id, user_id=self.users["removed member"], role=Role.admin)
            db.add(removed)
            db.flush()
            db.delete(removed)
            now = utcnow()
            for email, expires in ((f"late-{uuid.uuid4().hex[:6]}@example.com", now - dt.timedelta(seconds=1)),
                                   (f"open-{uuid.uuid4().hex[:6]}@example.com", now + dt.timedelta(days=7))):
                db.add(Invitation(organization_id=org.id, email=email, role=Role.admin, nonce_hash=invitation_hash(uuid.uuid4().hex),
                                  invited_by=owner.id, expires_at=expires))
            db.flush()
            open_invitation = max(i.id for i in db.query(Invitation).filter_by(organization_id=org.id))
            created = create_project(db, "Docs", organization_id=org.id)
            project = created.project
            db.add(ContentSet(project_id=project.id, key="docs", signal_type=SignalType.updown, config={}))
            spare_key, _ = issue_key(db, project, KeyKind.secret, "spare")
            subscription = RecapSubscription(project_id=project.id, email="boss@example.com", frequency=RecapFrequency.weekly)
            export = ExportRequest(project_id=project.id, format=ExportFormat.csv)
            db.add_all([subscription, export])
            db.flush()
            params = {
                "project_id": project.id, "org_id": org.id, "key_id": str(spare_key.id), "set_key": "docs",
                "subscription_id": str(subscription.id), "export_id": str(export.id), "signal_id": str(uuid.uuid4()),
                "user_id": spare.id, "invitation_id": str(open_invitation),
            }
            return World(params=params, secret_key=created.secret_key, public_key=created.public_key)

    def call(self, caller: str, operation: str, world: World, params: dict[str, str] | None = None):
        method, template = operation.split(" ", 1)
        path = template.format(**(params or world.params))
        headers = {"Origin": API_ORIGIN}
        if caller in self.csrf:
            headers["X-CSRF-Token"] = self.csrf[caller]
        bearer = {"own project's secret key": world.secret_key, "other project's secret key": self.other_secret,
                  "public key": world.public_key, "admin token": ADMIN_TOKEN}.get(caller)
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return self.clients[caller].request(method, path, headers=headers, json=BODIES.get(operation), params=QUERIES.get(operation))


def expected(caller: str, operation: str) -> str:
    """'allowed', 'weak' (403: role too weak), 'hidden' (404 as if unknown), or 'refused' (401/403)."""
    need = EXPECTED[operation]
    on_project = operation.split(" ", 1)[1].startswith("/v1/projects/")
    if need == OPERATOR:
        return "allowed" if caller == "admin token" else "refused"
    if caller in ("revoked session", "anonymous", "public key"):
        return "refused"
    if caller in ("own project's secret key", "admin token"):
        return "allowed" if on_project else "refused"
    if caller == "other project's secret key":
        return "hidden" if on_project else "refused"
    if need == SIGNED_IN:
        return "allowed"
    if caller in STRANGERS:
        return "hidden"
    return "allowed" if Role(caller).at_least(need) else "weak"


def _is_hiding_404(response) -> bool:
    if response.status_code != 404:
        return False
    message = response.json()["error"]["message"]
    return message.endswith("(or the key does not belong to it)") or message.endswith("(or you are not a member)")


@pytest.fixture()
def callers(app, accounts_settings, clickhouse_server):
    return Callers(app, accounts_settings)


def test_every_private_route_has_an_expectation(app):
    assert set(private_operations(app)) == set(EXPECTED)
    schema = app.openapi()
    for operation in EXPECTED:
        method, path = operation.split(" ", 1)
        # anyone may leave an organization: the route declares viewer and checks others' removal itself
        declared = Role.viewer if operation == f"DELETE {G}/members/{{user_id}}" else EXPECTED[operation]
        assert schema["paths"][path][method.lower()]["x-feelback-role"] == str(declared)
        if "requestBody" in schema["paths"][path][method.lower()]:
            assert operation in BODIES, f"give {operation} a body in BODIES"


def test_matrix(app, callers):
    failures = []
    world = None
    for operation in private_operations(app):
        for caller in CALLERS:
            if world is None:
                world = callers.world()
            response = callers.call(caller, operation, world)
            want = expected(caller, operation)
            got = (
                "hidden" if _is_hiding_404(response)
                else "weak" if response.status_code == 403 and response.json()["error"]["code"] == "role_too_weak"
                else "refused" if response.status_code in (401, 403)
                else "allowed" if response.status_code < 500
                else f"error {response.status_code}"
            )
            if got != want:
                failures.append(f"{operation} as {caller}: expected {want}, got {response.status_code} {response.text[:200]}")
            if want == "hidden":
                # exactly what an id that never existed gets
                unknown = {**world.params, "project_id": "nope-abcdef", "org_id": "org_nope"}
                twin = callers.call(caller, operation, world, unknown)
                mask = lambda r, p: r.text.replace(p["project_id"], "ID").replace(p["org_id"], "ID")  # noqa: E731
                if (twin.status_code, mask(twin, unknown)) != (response.status_code, mask(response, world.params)):
                    failures.append(f"{operation} as {caller}: {response.text} differs from an unknown id's {twin.text}")
            if not operation.startswith("GET ") and response.status_code < 300:
                world = None  # it changed something: the next call gets a fresh organization
            if want == "allowed" and response.status_code >= 300 and response.status_code != 404:
                failures.append(f"{operation} as {caller}: allowed but answered {response.status_code} {response.text[:200]}")
    assert not failures, "\n".join(failures)


def test_expired_invitation_cannot_be_accepted(app, callers, accounts_settings):
    world = callers.world()
    with callers.maker.begin() as db:
        user = db.get(User, callers.users["expired invitee"])
        nonce = uuid.uuid4().hex
        db.add(Invitation(organization_id=world.params["org_id"], email=user.email, role=Role.admin, nonce_hash=invitation_hash(nonce),
                          invited_by=callers.users["owner"], expires_at=utcnow() - dt.timedelta(minutes=1)))
    token = app.state.account_mail.signer.sign(LinkPurpose.invitation, {"n": nonce})
    client = callers.clients["expired invitee"]
    headers = {"Origin": API_ORIGIN, "X-CSRF-Token": callers.csrf["expired invitee"]}
    refused = client.post("/v1/invitations/accept", json={"token": token}, headers=headers)
    assert refused.status_code == 410 and refused.json()["error"]["code"] == "invitation_closed"
    assert client.get(f"/v1/organizations/{world.params['org_id']}", headers=headers).status_code == 404
