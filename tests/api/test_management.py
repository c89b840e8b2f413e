"""The private management API against a real control-plane DB (SQLite and PostgreSQL) and ClickHouse."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import text

from feelback.control_plane.db import get_engine
from ingest_api.app import create_app
from ingest_api.dependencies import check_origin
# control_settings: a fresh migrated control-plane DB, once on SQLite and once on PostgreSQL.
from tests.fixtures.control_db import ADMIN_TOKEN, control_settings  # noqa: F401

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture()
def api(control_settings):
    app = create_app(control_settings)

    @app.get("/v1/test-origin", dependencies=[Depends(check_origin)])
    def origin_probe() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(app) as client:
        yield client


@pytest.fixture()
def project(api):
    response = api.post(
        "/v1/projects",
        json={"name": "Acme Docs", "allowed_origins": ["https://acme.com"], "timezone": "Europe/Paris"},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return {"id": body["project"]["id"], "public": body["public_key"], "secret": body["secret_key"], "body": body}


def error_of(response) -> tuple[str, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]["code"], body["error"]["message"]


# --- projects and auth ------------------------------------------------------------------------


def test_project_crud(api, project):
    created = project["body"]["project"]
    assert created["allowed_origins"] == ["https://acme.com"]
    assert (created["timezone"], created["retention_days"]) == ("Europe/Paris", 730)
    path = f"/v1/projects/{project['id']}"

    assert api.get(path, headers=bearer(project["secret"])).json()["name"] == "Acme Docs"
    listed = api.get("/v1/projects", headers=ADMIN).json()
    assert [item["id"] for item in listed] == [project["id"]]

    patched = api.patch(path, json={"name": "Acme", "allowed_origins": ["HTTPS://docs.acme.com/"]}, headers=bearer(project["secret"]))
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["allowed_origins"]) == ("Acme", ["https://docs.acme.com"])

    bad = api.patch(path, json={"timezone": "Mars/Base"}, headers=bearer(project["secret"]))
    assert bad.status_code == 422
    assert error_of(bad) == ("invalid_request", "timezone: unknown time zone 'Mars/Base'; use an IANA name like Europe/Paris or UTC")
    bad = api.patch(path, json={"nickname": "x"}, headers=bearer(project["secret"]))
    assert error_of(bad)[1] == "nickname: is not a known field"
    assert api.get(path, headers=ADMIN).json()["timezone"] == "Europe/Paris"

    assert api.delete(path, headers=bearer(project["secret"])).status_code == 204
    assert api.get(path, headers=ADMIN).status_code == 404
    assert "is not valid" in error_of(api.get(path, headers=bearer(project["secret"])))[1]


def test_project_creation_needs_the_admin_token(api, control_settings):
    assert api.post("/v1/projects", json={"name": "x"}).status_code == 401
    assert api.post("/v1/projects", json={"name": "x"}, headers=bearer("wrong")).status_code == 401
    bad = api.post("/v1/projects", json={"name": "x", "retention_days": 0}, headers=ADMIN)
    assert bad.status_code == 422 and error_of(bad)[1] == "retention_days: must be greater than or equal to 1 (got 0)"

    control_settings_without_admin = control_settings.model_copy(update={"admin_token": ""})
    with TestClient(create_app(control_settings_without_admin)) as closed:
        refused = closed.post("/v1/projects", json={"name": "x"}, headers=ADMIN)
    assert refused.status_code == 403
    assert "FEELBACK_ADMIN_TOKEN" in error_of(refused)[1]


def test_keys_must_fit_the_route(api, project):
    path = f"/v1/projects/{project['id']}"
    assert error_of(api.get(path))[1].startswith("missing credentials")
    public = api.get(path, headers=bearer(project["public"]))
    assert public.status_code == 403 and "public key cannot use the management API" in error_of(public)[1]
    other = api.post("/v1/projects", json={"name": "Other"}, headers=ADMIN).json()
    assert api.get(path, headers=bearer(other["secret_key"])).status_code == 404
    assert api.get("/v1/projects/nope-123456", headers=ADMIN).status_code == 404
    assert error_of(api.get(path, headers=bearer("fb_sk_forged")))[0] == "unauthorized"


def test_key_lifecycle_and_storage(api, project, control_settings):
    keys_path = f"/v1/projects/{project['id']}/keys"
    auth = bearer(project["secret"])
    created = api.post(keys_path, json={"kind": "secret", "name": "ci"}, headers=auth)
    assert created.status_code == 201
    new_secret = created.json()["key"]
    assert new_secret.startswith("fb_sk_")

    listed = api.get(keys_path, headers=auth).json()
    assert [(key["kind"], key["name"], key["is_active"]) for key in listed] == [
        ("public", "default public key", True), ("secret", "default secret key", True), ("secret", "ci", True)
    ]
    assert listed[2]["prefix"] == new_secret[:12] and listed[2]["last4"] == new_secret[-4:]
    assert new_secret not in api.get(keys_path, headers=auth).text

    revoked = api.delete(f"{keys_path}/{listed[1]['id']}", headers=bearer(new_secret))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = api.get(keys_path, headers=auth)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    message = error_of(refused)[1]
    assert message.startswith(f"API key {project['secret'][:12]}…{project['secret'][-4:]} was revoked on ")

    last = api.delete(f"{keys_path}/{listed[2]['id']}", headers=bearer(new_secret))
    assert last.status_code == 409 and "last active secret key" in error_of(last)[1]
    assert api.delete(f"{keys_path}/9999", headers=bearer(new_secret)).status_code == 404
    assert api.post(keys_path, json={"kind": "master"}, headers=bearer(new_secret)).status_code == 422

    with get_engine(control_settings).connect() as connection:
        stored = repr(connection.execute(text("SELECT * FROM api_keys")).all())
    for plaintext in (project["public"], project["secret"], new_secret):
        assert plaintext[6:] not in stored


# --- content sets -----------------------------------------------------------------------------


def test_content_set_configuration(api, project):
    sets = f"/v1/projects/{project['id']}/content-sets"
    auth = bearer(project["secret"])
    rating = api.post(sets, json={"key": "docs", "name": "Docs pages", "signal_type": "rating", "config": {"scale": 7}}, headers=auth)
    assert rating.status_code == 201, rating.text
    assert rating.json()["config"] == {"scale": 7}
    assert (rating.json()["edit_window_seconds"], rating.json()["one_per_visitor"]) == (3600, True)

    message = api.post(sets, json={"key": "feedback", "signal_type": "message", "edit_window_seconds": 0}, headers=auth).json()
    assert message["config"]["tags"] == ["idea", "bug", "other"] and message["one_per_visitor"] is False
    reaction = api.post(sets, json={"key": "emoji", "signal_type": "reaction"}, headers=auth).json()
    assert {r["key"]: r["polarity"] for r in reaction["config"]["reactions"]}["rage"] == -1

    cases = [
        ({"key": "a", "signal_type": "rating", "config": {"scale": 6}},
         "config.scale: must be one of 5, 7, 10 (got 6) (for rating content sets)"),
        ({"key": "a", "signal_type": "reaction", "config": {"reactions": [{"key": "up", "emoji": "🚀", "polarity": 2}]}},
         "config.reactions.0.polarity: must be one of -1, 0, 1 (got 2) (for reaction content sets)"),
        ({"key": "a", "signal_type": "yesno", "config": {"scale": 5}},
         "config.scale: is not a known field (for yesno content sets)"),
        ({"key": "Bad Key", "signal_type": "like"},
         "key: must be 1 to 40 lowercase letters, digits, '_' or '-', starting with a letter or digit (got 'Bad Key')"),
        ({"key": "a", "signal_type": "stars"}, "signal_type: must be one of"),
        ({"key": "a", "signal_type": "like", "edit_window_seconds": -1}, "edit_window_seconds: must be greater than or equal to 0"),
    ]
    for body, expected in cases:
        response = api.post(sets, json=body, headers=auth)
        assert response.status_code == 422, body
        assert error_of(response)[1].startswith(expected), error_of(response)[1]

    duplicate = api.post(sets, json={"key": "docs", "signal_type": "like"}, headers=auth)
    assert duplicate.status_code == 409 and error_of(duplicate)[1] == f"project {project['id']!r} already has a content set 'docs'"

    assert [item["key"] for item in api.get(sets, headers=auth).json()] == ["docs", "emoji", "feedback"]
    patched = api.patch(f"{sets}/docs", json={"config": {"scale": 10}, "public_stats": False}, headers=auth)
    assert (patched.json()["config"], patched.json()["public_stats"]) == ({"scale": 10}, False)
    bad = api.patch(f"{sets}/docs", json={"config": {"scale": 3}}, headers=auth)
    assert bad.status_code == 422 and api.get(f"{sets}/docs", headers=auth).json()["config"] == {"scale": 10}

    missing = api.get(f"{sets}/nope", headers=auth)
    assert missing.status_code == 404 and error_of(missing) == ("not_found", f"no content set 'nope' in project {project['id']!r}")
    assert api.get("/v1/projects/nope-123456/content-sets", headers=ADMIN).status_code == 404


def test_type_change_is_refused_once_the_set_has_signals(api, project, ch):
    sets = f"/v1/projects/{project['id']}/content-sets"
    auth = bearer(project["secret"])
    for key in ("empty", "used"):
        api.post(sets, json={"key": key, "signal_type": "rating", "config": {"scale": 7}}, headers=auth)
    insert_events(ch, [event(project["id"], "used", "rating", value=4, rating_scale=7)])

    changed = api.patch(f"{sets}/empty", json={"signal_type": "reaction"}, headers=auth)
    assert changed.status_code == 200
    assert changed.json()["signal_type"] == "reaction" and len(changed.json()["config"]["reactions"]) == 10

    refused = api.patch(f"{sets}/used", json={"signal_type": "updown"}, headers=auth)
    assert refused.status_code == 409
    assert error_of(refused)[1].startswith("content set 'used' already has rating signals; its type cannot change to updown")
    assert api.get(f"{sets}/used", headers=auth).json()["signal_type"] == "rating"
    assert api.delete(f"{sets}/used", headers=auth).status_code == 409
    assert api.delete(f"{sets}/empty", headers=auth).status_code == 204


# --- subscriptions and retention --------------------------------------------------------------


def test_recap_subscriptions(api, project):
    path = f"/v1/projects/{project['id']}/recap-subscriptions"
    auth = bearer(project["secret"])
    bad = api.post(path, json={"email": "not-an-email"}, headers=auth)
    assert bad.status_code == 422
    assert error_of(bad)[1] == "email: must be an e-mail address like name@example.com (got 'not-an-email')"
    assert "frequency: must be" in error_of(api.post(path, json={"email": "a@example.com", "frequency": "daily"}, headers=auth))[1]

    weekly = api.post(path, json={"email": "Ann@Example.com"}, headers=auth)
    assert weekly.status_code == 201 and (weekly.json()["email"], weekly.json()["frequency"]) == ("Ann@example.com", "weekly")
    monthly = api.post(path, json={"email": "ann@example.com", "frequency": "monthly"}, headers=auth).json()
    assert [s["frequency"] for s in api.get(path, headers=auth).json()] == ["weekly", "monthly"]

    gone = api.delete(f"{path}/{monthly['id']}", headers=auth)
    assert gone.json()["unsubscribed_at"] is not None
    assert [s["frequency"] for s in api.get(path, headers=auth).json()] == ["weekly"]
    assert len(api.get(path, params={"include_unsubscribed": True}, headers=auth).json()) == 2
    again = api.post(path, json={"email": "ann@example.com", "frequency": "monthly"}, headers=auth)
    assert again.status_code == 200 and again.json()["id"] == monthly["id"] and again.json()["unsubscribed_at"] is None
    assert api.delete(f"{path}/424242", headers=auth).status_code == 404


def test_retention(api, project):
    path = f"/v1/projects/{project['id']}/retention"
    auth = bearer(project["secret"])
    assert api.get(path, headers=auth).json() == {"days": 730}
    bad = api.put(path, json={"days": 0}, headers=auth)
    assert bad.status_code == 422 and error_of(bad)[1] == "days: must be greater than or equal to 1 (got 0)"
    assert "days: must be a valid integer" in error_of(api.put(path, json={"days": "forever"}, headers=auth))[1]
    assert api.put(path, json={"days": 90}, headers=auth).json() == {"days": 90}
    assert api.get(f"/v1/projects/{project['id']}", headers=auth).json()["retention_days"] == 90


# --- origins ----------------------------------------------------------------------------------


def test_check_origin_and_cors_on_public_routes(api, project):
    key = {"X-Feelback-Key": project["public"]}
    assert api.get("/v1/test-origin", headers=key).status_code == 200  # servers send no Origin
    allowed = api.get("/v1/test-origin", headers={**key, "Origin": "https://acme.com"})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "*"
    refused = api.get("/v1/test-origin", headers={**key, "Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert error_of(refused) == (
        "origin_not_allowed",
        f"origin https://evil.example is not allowed for project {project['id']!r}; allowed origins: https://acme.com",
    )
    assert api.get("/v1/test-origin", params={"key": project["public"]}, headers={"Origin": "https://acme.com"}).status_code == 200
    assert "secret keys must not be sent in URLs" in error_of(api.get("/v1/test-origin", params={"key": project["secret"]}))[1]
    assert error_of(api.get("/v1/test-origin"))[1].startswith("missing API key")

    preflight = api.options(
        "/v1/test-origin",
        headers={"Origin": "https://acme.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-feelback-key, content-type"},
    )
    assert preflight.status_code == 200
    assert "x-feelback-key" in preflight.headers["access-control-allow-headers"].lower()
    private = api.get(f"/v1/projects/{project['id']}", headers={**bearer(project["secret"]), "Origin": "https://acme.com"})
    assert "access-control-allow-origin" not in private.headers


# --- signals ----------------------------------------------------------------------------------

EVENT_COLUMNS = (
    "event_id", "idempotency_key", "project_id", "content_set", "content_key", "signal_id", "operation", "signal_type",
    "value", "rating_scale", "reaction", "message", "tags", "contact_email", "form_fields", "visitor_id", "is_bot",
    "occurred_at", "received_at",
)
T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def event(project_id, content_set, signal_type, *, signal_id=None, operation="create", at=T0, content_key="/a", **values):
    row = {
        "event_id": uuid.uuid4(), "idempotency_key": uuid.uuid4().hex, "project_id": project_id, "content_set": content_set,
        "content_key": content_key, "signal_id": signal_id or uuid.uuid4(), "operation": operation,
        "signal_type": signal_type, "value": None, "rating_scale": 0, "reaction": "", "message": "", "tags": [],
        "contact_email": "", "form_fields": {}, "visitor_id": "v-" + uuid.uuid4().hex[:8], "is_bot": False,
        "occurred_at": at, "received_at": at,
    }
    row.update(values)
    return row


def insert_events(client, rows):
    client.insert("raw.feedback_events", [[row[c] for c in EVENT_COLUMNS] for row in rows], column_names=list(EVENT_COLUMNS))


def test_signal_listing_filters_and_pagination(api, project, ch):
    pid = project["id"]
    minute = dt.timedelta(minutes=1)
    edited, revoked, bug_report = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    rows = [
        event(pid, "docs", "rating", signal_id=edited, value=2, rating_scale=5, at=T0),
        event(pid, "docs", "rating", signal_id=edited, operation="edit", value=5, rating_scale=5, at=T0 + 10 * minute),
        event(pid, "docs", "rating", signal_id=revoked, value=1, rating_scale=5, at=T0 + minute, content_key="/b"),
        event(pid, "docs", "rating", signal_id=revoked, operation="revoke", rating_scale=5, at=T0 + 2 * minute, content_key="/b"),
        event(pid, "feedback", "message", signal_id=bug_report, message="The search is BROKEN", tags=["bug"],
              contact_email="a@example.com", form_fields={"role": "dev"}, at=T0 + 3 * minute),
        event(pid, "emoji", "reaction", reaction="heart", at=T0 + 4 * minute, content_key="/b"),
        event("someone-else", "docs", "rating", value=3, rating_scale=5, at=T0 + 5 * minute),
    ]
    rows += [event(pid, "feedback", "message", message=f"idea {n}", at=T0 + (20 + n) * minute) for n in range(5)]
    insert_events(ch, rows)
    path = f"/v1/projects/{pid}/signals"
    auth = bearer(project["secret"])

    def listing(**params):
        response = api.get(path, params=params, headers=auth)
        assert response.status_code == 200, response.text
        return response.json()

    everything = listing(limit=100)
    assert everything["next_cursor"] is None
    assert len(everything["signals"]) == 8  # revoked and other project's signals left out
    assert str(revoked) not in {s["signal_id"] for s in everything["signals"]}
    current = next(s for s in everything["signals"] if s["signal_id"] == str(edited))
    assert (current["value"], current["operations"], current["created_at"][:16], current["updated_at"][:16]) == (5, 2, "2025-03-01T12:00", "2025-03-01T12:10")
    assert current["triage"] is None

    assert [s["signal_id"] for s in listing(content_set="docs")["signals"]] == [str(edited)]
    assert [s["reaction"] for s in listing(content_key="/b")["signals"]] == ["heart"]
    assert {s["signal_type"] for s in listing(type="message")["signals"]} == {"message"}
    found = listing(q="broken")["signals"]
    assert [(s["signal_id"], s["tags"], s["form_fields"], s["triage"]) for s in found] == [(str(bug_report), ["bug"], {"role": "dev"}, "new")]
    window = listing(since=(T0 + 3 * minute).isoformat(), until=(T0 + 5 * minute).isoformat())["signals"]
    assert [s["signal_type"] for s in window] == ["reaction", "message"]

    seen, cursor, pages = [], None, 0
    while True:
        page = listing(limit=3, **({"cursor": cursor} if cursor else {}))
        seen += [s["signal_id"] for s in page["signals"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == [s["signal_id"] for s in everything["signals"]]
    created = [s["created_at"] for s in everything["signals"]]
    assert created == sorted(created, reverse=True)

    assert "cursor: cursor 'garbage' is not one this API returned" in error_of(api.get(path, params={"cursor": "garbage"}, headers=auth))[1]
    assert "type: must be one of" in error_of(api.get(path, params={"type": "stars"}, headers=auth))[1]
    assert api.get(path, params={"limit": 0}, headers=auth).status_code == 422


def test_triage_of_text_signals(api, project, ch):
    pid = project["id"]
    first, second, vote = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    insert_events(ch, [
        event(pid, "feedback", "message", signal_id=first, message="one", at=T0),
        event(pid, "feedback", "message", signal_id=second, message="two", at=T0 + dt.timedelta(seconds=1)),
        event(pid, "votes", "updown", signal_id=vote, value=1, at=T0),
    ])
    auth = bearer(project["secret"])
    triage = f"/v1/projects/{pid}/signals/{{}}/triage"

    marked = api.put(triage.format(first), json={"state": "archived"}, headers=auth)
    assert marked.status_code == 200 and marked.json()["state"] == "archived"
    assert api.put(triage.format(first), json={"state": "read"}, headers=auth).json()["state"] == "read"
    assert api.put(triage.format(second), json={"state": "archived"}, headers=auth).status_code == 200

    def ids(state):
        page = api.get(f"/v1/projects/{pid}/signals", params={"triage": state}, headers=auth).json()
        return [(s["signal_id"], s["triage"]) for s in page["signals"]]

    assert ids("read") == [(str(first), "read")]
    assert ids("archived") == [(str(second), "archived")]
    assert ids("new") == []

    refused = api.put(triage.format(vote), json={"state": "read"}, headers=auth)
    assert refused.status_code == 409 and "only message signals have a triage state" in error_of(refused)[1]
    assert api.put(triage.format(uuid.uuid4()), json={"state": "read"}, headers=auth).status_code == 404
    assert "state: must be one of" in error_of(api.put(triage.format(first), json={"state": "done"}, headers=auth))[1]
    assert "signal_id:" in error_of(api.put(triage.format("not-a-uuid"), json={"state": "read"}, headers=auth))[1]
