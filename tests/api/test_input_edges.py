"""Input at the edges of what the API accepts: every refusal is a 4xx naming the field and the rule,
never a 5xx, and nothing that reaches a mail header or a file name may carry control characters.

Against the real local ClickHouse server and a real SQLite control-plane DB; the app's own
exception handler answers (``raise_server_exceptions=False``), as it would in production.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from fastapi.testclient import TestClient

from ingest_api.app import create_app
from tests.api.ingest_support import BROWSER_UA, ingest_settings, seed_project
from tests.fixtures.control_db import ADMIN_TOKEN, control_settings  # noqa: F401

EXTREMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
BEYOND_64_BITS = str(2**64)


@pytest.fixture(scope="module")
def served(clickhouse_server, tmp_path_factory):
    settings = ingest_settings(tmp_path_factory.mktemp("input-edges"), spool_drain_interval_ms=100)
    project = seed_project(settings)
    with TestClient(create_app(settings), raise_server_exceptions=False, headers={"User-Agent": BROWSER_UA}) as client:
        yield client, project


@pytest.fixture()
def api(served):
    return served[0]


@pytest.fixture()
def private(served):
    return {"Authorization": f"Bearer {served[1].secret_key}"}


@pytest.fixture()
def public(served):
    return {"X-Feelback-Key": served[1].public_key}


@pytest.fixture()
def project_path(served):
    return f"/v1/projects/{served[1].id}"


def refusal(response, status: int, *words: str) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    message = response.json()["error"]["message"]
    for word in words:
        assert word in message, (word, message)
    return message


def _cursor(created_at: str, signal_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at, signal_id]).encode()).decode().rstrip("=")


# --- times at the ends of the calendar ---------------------------------------------------------


@pytest.mark.parametrize("moment", EXTREMES)
def test_occurred_at_at_the_calendars_ends_is_a_422(api, public, moment):
    body = {"content_set": "votes", "content_key": "/edge", "value": True, "occurred_at": moment}
    refusal(api.post("/v1/signals", json=body, headers=public), 422, "occurred_at", "year from 1900 to 2299")
    batch = {"operations": [{"op": "create", **body}]}
    answer = api.post("/v1/batch", json=batch, headers=public)
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    assert result["status"] == 422 and "occurred_at" in result["body"]["error"]["message"]
    revoke = api.delete(f"/v1/signals/{uuid.uuid4()}", params={"occurred_at": moment}, headers={**public, "X-Feelback-Edit-Token": "x"})
    refusal(revoke, 422, "occurred_at")


@pytest.mark.parametrize("moment", [*EXTREMES, "0999-12-31T00:00:00Z", "0500-06-01T00:00:00"])
@pytest.mark.parametrize("name", ["since", "until"])
def test_listing_bounds_at_the_calendars_ends_are_a_422(api, private, project_path, name, moment):
    refusal(api.get(f"{project_path}/signals", params={name: moment}, headers=private), 422, name, "year from 1900 to 2299")


@pytest.mark.parametrize("moment", ["1900-01-01T00:00:00+14:00", "2299-12-31T23:59:59-14:00"])
def test_the_first_and_last_years_are_served(api, private, project_path, moment):
    for name in ("since", "until"):
        answer = api.get(f"{project_path}/signals", params={name: moment}, headers=private)
        assert answer.status_code == 200, answer.text
    answer = api.post(f"{project_path}/exports", json={"format": "jsonl", "from": moment}, headers=private)
    assert answer.status_code == 202, answer.text


def test_listing_cursors_that_overflow_or_name_no_uuid_are_a_422(api, private, project_path):
    for cursor in (
        _cursor("0001-01-01T00:00:00+14:00", str(uuid.uuid4())),
        _cursor("9999-12-31T23:59:59-14:00", str(uuid.uuid4())),
        _cursor("2024-01-01T00:00:00+00:00", "not-a-uuid"),
        _cursor("2024-01-01T00:00:00+00:00", "1" * 40),
        base64.urlsafe_b64encode(b'[1, 2, 3]').decode(),
        base64.urlsafe_b64encode(b'"just text"').decode(),
    ):
        refusal(api.get(f"{project_path}/signals", params={"cursor": cursor}, headers=private), 422, "cursor")
    fine = api.get(f"{project_path}/signals", params={"cursor": _cursor("2024-01-01T00:00:00+00:00", str(uuid.uuid4()))}, headers=private)
    assert fine.status_code == 200, fine.text


@pytest.mark.parametrize("moment", EXTREMES)
@pytest.mark.parametrize("name", ["from", "to"])
def test_export_range_at_the_calendars_ends_is_a_422(api, private, project_path, name, moment):
    refusal(api.post(f"{project_path}/exports", json={"format": "csv", name: moment}, headers=private), 422, name, "year from 1900 to 2299")


# --- ids beyond 64 bits, and download links --------------------------------------------------


def test_ids_beyond_64_bits_are_a_422(api, private, project_path):
    for method, path, field in (
        ("GET", f"{project_path}/exports/{BEYOND_64_BITS}", "export_id"),
        ("DELETE", f"{project_path}/keys/{BEYOND_64_BITS}", "key_id"),
        ("DELETE", f"{project_path}/recap-subscriptions/{BEYOND_64_BITS}", "subscription_id"),
        ("DELETE", f"{project_path}/keys/0", "key_id"),
    ):
        refusal(api.request(method, path, headers=private), 422, field, "less than or equal" if "/0" not in path else "greater")
    link = api.get(f"/v1/exports/{BEYOND_64_BITS}/download", params={"expires": 2_000_000_000, "signature": "0" * 64})
    refusal(link, 422, "export_id")
    link = api.get("/v1/exports/1/download", params={"expires": BEYOND_64_BITS, "signature": "0" * 64})
    refusal(link, 422, "expires")


def test_a_non_ascii_signature_is_an_invalid_link_not_a_crash(api, private, project_path):
    export = api.post(f"{project_path}/exports", json={"format": "csv"}, headers=private)
    assert export.status_code == 202, export.text
    for signature in ("é" * 64, "\u00ff" * 64, "ﬀ" * 64):
        link = api.get(f"/v1/exports/{export.json()['id']}/download", params={"expires": 2_000_000_000, "signature": signature})
        assert link.status_code in (403, 422), link.text
        assert "signature" in link.text or link.json()["error"]["code"] == "invalid_link"


# --- control characters in names -------------------------------------------------------------


@pytest.mark.parametrize("bad", ["X\r\nBcc: victim@example.com", "tab\there", "nul\x00", "line\u2028sep", "del\x7f"])
def test_names_with_control_characters_are_a_422_naming_the_field(api, private, project_path, bad):
    refusal(api.patch(project_path, json={"name": bad}, headers=private), 422, "name", "control characters")
    refusal(api.post(f"{project_path}/keys", json={"kind": "public", "name": bad}, headers=private), 422, "name", "control characters")
    refusal(
        api.post(f"{project_path}/content-sets", json={"key": "edge-set", "name": bad, "signal_type": "like"}, headers=private),
        422, "name", "control characters",
    )  # fmt: skip
    refusal(api.patch(f"{project_path}/content-sets/votes", json={"name": bad}, headers=private), 422, "name", "control characters")
    refusal(
        api.patch(project_path, json={"allowed_origins": [f"https://exa{bad}mple.com"]}, headers=private), 422, "allowed_origins"
    )
    assert "\r" not in api.get(project_path, headers=private).json()["name"]


def test_ordinary_unicode_names_are_kept(api, private, project_path):
    name = "Café Docs 👩‍💻 — ünïcødé"
    answer = api.patch(project_path, json={"name": name}, headers=private)
    assert answer.status_code == 200 and answer.json()["name"] == name


def test_a_405_names_every_method_of_the_path(api, public):
    answer = api.request("OPTIONS", f"/v1/signals/{uuid.uuid4()}", headers=public)
    assert answer.status_code == 405
    assert set(answer.headers["Allow"].split(", ")) == {"PATCH", "DELETE"}
    assert "PATCH" in answer.json()["error"]["message"] and "DELETE" in answer.json()["error"]["message"]


# --- values PostgreSQL keeps none of: NUL characters in text, integers past 2**31-1 ----------------


def test_values_the_control_plane_db_cannot_hold_are_a_4xx_on_every_backend(control_settings):
    """On PostgreSQL a NUL in a looked-up text, or an id past its integer columns, is a DataError:
    each such request is a 4xx naming what is wrong, not a 500."""
    api = TestClient(create_app(control_settings), raise_server_exceptions=False)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    created = api.post("/v1/projects", json={"name": "Nul probe"}, headers=admin).json()
    project, secret = created["project"]["id"], {"Authorization": f"Bearer {created['secret_key']}"}
    past_integer = 2**31
    for method, path, headers, body, status, named in (
        ("GET", f"/v1/projects/{project}/content-sets/a%00b", secret, None, 404, "'a\\x00b'"),
        ("PATCH", f"/v1/projects/{project}/content-sets/a%00b", secret, {"name": "x"}, 404, "'a\\x00b'"),
        ("DELETE", f"/v1/projects/{project}/content-sets/a%00b", secret, None, 404, "'a\\x00b'"),
        ("POST", f"/v1/projects/{project}/exports", secret, {"format": "csv", "content_set": "a\u0000b"}, 422, "content_set"),
        ("GET", "/v1/stats/a%00b", {"X-Feelback-Key": created["public_key"]}, None, 404, "'a\\x00b'"),
        ("GET", "/v1/projects/a%00b", admin, None, (404, 422), "a"),  # SQLite finds none; PostgreSQL refuses it
        ("DELETE", f"/v1/projects/{project}/recap-subscriptions/{past_integer}", secret, None, 422, "subscription_id"),
        ("DELETE", f"/v1/projects/{project}/keys/{past_integer}", secret, None, 422, "key_id"),
        ("GET", f"/v1/projects/{project}/exports/{past_integer}", secret, None, 422, "export_id"),
        ("GET", f"/v1/exports/{past_integer}/download?expires=1&signature={'0' * 64}", {}, None, 422, "export_id"),
    ):
        answer = api.request(method, path, json=body, headers=headers)
        assert answer.status_code in (status if isinstance(status, tuple) else (status,)), (method, path, answer.status_code, answer.text)
        assert named in answer.json()["error"]["message"], answer.text
