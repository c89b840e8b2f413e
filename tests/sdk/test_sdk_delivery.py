"""Delivery of the SDK: its size, how the API serves it (versioned path, cache, CORS, gzip), the
widgets' config read, and the demo project and page."""

from __future__ import annotations

import gzip

import pytest
from fastapi.testclient import TestClient

from feelback.demo import DEMO_SETS, ensure_demo, read_demo
from ingest_api.app import create_app
from tests.api.ingest_support import ORIGIN, ingest_settings, seed_project
from tests.sdk.support import DIST

SIZE_LIMIT = 8 * 1024  # the whole script-tag build (JS and CSS, every widget), gzipped


@pytest.fixture(scope="module")
def settings(tmp_path_factory, sdk_built):
    return ingest_settings(tmp_path_factory.mktemp("sdk-delivery"))


@pytest.fixture(scope="module")
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_script_tag_build_is_under_8_kb_gzipped():
    script = (DIST / "feelback.js").read_bytes()
    size = len(gzip.compress(script, 9))
    assert size < SIZE_LIMIT, f"feelback.js is {size} bytes gzipped; the limit is {SIZE_LIMIT}"
    assert b"adoptedStyleSheets" in script, "the styles ship inside the script, as a constructable stylesheet"
    for tag in ("feelback-yesno", "feelback-updown", "feelback-rating", "feelback-like", "feelback-reactions", "feelback-form"):
        assert tag.encode() in script


@pytest.mark.parametrize("name", ["feelback.js", "feelback.mjs"])
def test_served_at_a_versioned_path_with_long_cache_cors_and_gzip(client, name):
    response = client.get(f"/sdk/v1/{name}", headers={"Origin": "https://site.example", "Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == (DIST / name).read_bytes()  # (httpx decodes gzip)
    assert "max-age=604800" in response.headers["cache-control"] and "public" in response.headers["cache-control"]
    assert response.headers["access-control-allow-origin"] == "*"
    again = client.get(f"/sdk/v1/{name}", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_unknown_sdk_files_are_404_with_a_message(client):
    response = client.get("/sdk/v1/other.js")
    assert response.status_code == 404
    assert "no SDK file 'other.js'" in response.json()["error"]["message"]


@pytest.fixture(scope="module")
def project(settings):
    return seed_project(settings)


def test_widget_config_answers_for_many_sets_at_once(client, project):
    response = client.get(
        "/v1/widget-config",
        params={"set": ["stars", "emoji", "feedback", "nosuch"], "key": project.public_key},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["unknown"] == ["nosuch"]
    assert body["sets"]["stars"] == {"signal_type": "rating", "config": {"scale": 7}, "edit_window_seconds": 3600, "one_per_visitor": True}
    assert [reaction["key"] for reaction in body["sets"]["emoji"]["config"]["reactions"]][:2] == ["thumbs_up", "heart"]
    assert body["sets"]["feedback"]["config"]["form_fields"][0]["name"] == "section"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "max-age=60" in response.headers["cache-control"]


@pytest.mark.parametrize(
    ("params", "headers", "status", "message"),
    [
        ({"set": "stars"}, {}, 401, "missing API key"),
        ({"set": "stars", "key": "fb_pk_nope"}, {}, 401, "is not valid"),
        ({"set": "Bad Key!"}, {}, 422, "set"),
        ({}, {}, 422, "set"),
        ({"set": "stars"}, {"Origin": "https://evil.example"}, 403, "origin https://evil.example is not allowed"),
    ],
)
def test_widget_config_refusals_say_why(client, project, params, headers, status, message):
    if "key" not in params and status != 401:
        params = {**params, "key": project.public_key}
    response = client.get("/v1/widget-config", params=params, headers=headers)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]


def test_widget_config_is_in_the_openapi_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/v1/widget-config" in paths
    assert "/sdk/v1/{name}" in paths


def test_the_demo_project_is_made_once_with_one_set_per_widget(settings, client):
    first = ensure_demo(settings)
    again = ensure_demo(settings)
    assert first == again == read_demo(settings)
    body = client.get("/v1/widget-config", params={"set": list(DEMO_SETS), "key": first.public_key}).json()
    assert body["unknown"] == []
    assert {config["signal_type"] for config in body["sets"].values()} == {"yesno", "updown", "rating", "like", "reaction", "message"}
    page = client.get("/demo/")
    assert page.status_code == 200
    assert f'data-key="{first.public_key}"' in page.text
    for element, *_ in DEMO_SETS.values():
        assert f"<{element} " in page.text


def test_the_demo_page_says_how_to_make_the_demo_when_there_is_none(tmp_path, sdk_built):
    with TestClient(create_app(ingest_settings(tmp_path / "empty"))) as client:
        page = client.get("/demo/")
    assert page.status_code == 404 and "feelback demo" in page.text


def test_feelback_demo_command_is_idempotent_and_prints_the_url(tmp_path):
    import os
    import subprocess
    import sys

    from tests.sdk.support import REPO

    env = {**os.environ, "FEELBACK_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    env.pop("FEELBACK_DATABASE_URL", None)
    runs = [subprocess.run([sys.executable, "-m", "feelback", "demo"], capture_output=True, text=True, env=env, cwd=REPO) for _ in range(2)]
    assert [run.returncode for run in runs] == [0, 0], runs[0].stderr
    assert runs[0].stdout == runs[1].stdout, "the second run keeps the same demo project"
    assert runs[0].stdout.startswith("demo: project feelback-demo-") and "http://127.0.0.1:8000/demo/" in runs[0].stdout
