"""The panel's files at /app/ (SPA fallback, caching, no way out of the dist folder) and GET /v1/key."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ingest_api.app import create_app
from ingest_api.routers import panel_static
from tests.api.ingest_support import ingest_settings, seed_project


@pytest.fixture()
def dist(tmp_path, monkeypatch):
    """A stand-in build (the real one is tested in the browser tests)."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>Feelback</title>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('panel')")
    (tmp_path.parent / "outside.txt").write_text("not the panel's")
    monkeypatch.setattr(panel_static, "PANEL_DIST", tmp_path)
    return tmp_path


@pytest.fixture()
def client(tmp_path_factory):
    settings = ingest_settings(tmp_path_factory.mktemp("panel-static"))
    client = TestClient(create_app(settings))
    client.project = seed_project(settings)
    return client


def test_index_for_every_panel_path_never_cached(client, dist):
    for path in ("/app/", "/app/projects", "/app/p/some-project/inbox?state=new"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.text.startswith("<!doctype html>")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_index_and_files_carry_the_strict_policy_and_security_headers(client, dist):
    for path in ("/app/", "/app/p/some-project/overview", "/app/assets/index-abc123.js"):
        headers = client.get(path).headers
        directives = set(headers["content-security-policy"].split("; "))
        assert {"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} <= directives, path
        assert not [directive for directive in directives if "unsafe" in directive or "*" in directive], path
        assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "same-origin"
        assert headers["cross-origin-opener-policy"] == "same-origin"
        assert "camera=()" in headers["permissions-policy"] and "microphone=()" in headers["permissions-policy"]


def test_app_without_slash_redirects(client, dist):
    response = client.get("/app", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/app/"


def test_hashed_assets_cached_for_a_year_and_missing_ones_are_404(client, dist):
    response = client.get("/app/assets/index-abc123.js")
    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"]
    assert "javascript" in response.headers["content-type"]
    missing = client.get("/app/assets/index-gone.js")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_no_file_outside_the_dist_folder(client, dist):
    for path in ("/app/../outside.txt", "/app/%2e%2e/outside.txt", "/app/assets/..%2f..%2foutside.txt"):
        response = client.get(path)
        assert "not the panel's" not in response.text, path


def test_unbuilt_panel_says_how_to_build_it(client, tmp_path, monkeypatch):
    monkeypatch.setattr(panel_static, "PANEL_DIST", tmp_path / "nothing")
    response = client.get("/app/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "panel_not_built"
    assert "make install" in response.json()["error"]["message"]


def test_panel_is_not_in_the_api_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/app")]
    assert "/v1/key" in paths


def test_key_owner_names_the_project_of_a_secret_key(client):
    project = client.project
    response = client.get("/v1/key", headers={"Authorization": f"Bearer {project.secret_key}"})
    assert response.status_code == 200
    body = response.json()
    assert body["project"]["id"] == project.id
    assert body["api_key"]["kind"] == "secret"
    assert "key" not in body["api_key"]  # the key itself is never shown again


def test_key_owner_refuses_public_missing_and_unknown_keys(client):
    public = client.get("/v1/key", headers={"Authorization": f"Bearer {client.project.public_key}"})
    assert public.status_code == 403
    missing = client.get("/v1/key")
    assert missing.status_code == 401
    unknown = client.get("/v1/key", headers={"Authorization": "Bearer fb_sk_notarealkeyatall"})
    assert unknown.status_code == 401
    assert "not valid" in unknown.json()["error"]["message"]


def test_file_lookup_stays_inside_the_dist_folder(dist):
    assert panel_static._file_in_dist("assets/index-abc123.js") == (dist / "assets" / "index-abc123.js").resolve()
    assert panel_static._file_in_dist("../outside.txt") is None
    assert panel_static._file_in_dist("assets/../../outside.txt") is None
    assert panel_static._file_in_dist("assets") is None  # a folder is not a file
