"""The API's docs pages work without the Internet: Swagger UI and ReDoc come from the API itself."""

from __future__ import annotations

import re
import signal
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from ingest_api.app import create_app
from tests.api.ingest_support import ApiProcess, ingest_settings


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_their_assets_from_the_api(tmp_path, path):
    with TestClient(create_app(ingest_settings(tmp_path))) as client:
        page = client.get(path)
        assert page.status_code == 200
        sources = re.findall(r"""(?:src|href)=["']?([^"' >]+)""", page.text)
        assets = [source for source in sources if source.endswith((".js", ".css", ".png"))]
        assert assets, page.text
        for asset in assets:
            assert not urlsplit(asset).netloc, f"{path} loads {asset} from another host"
            answer = client.get(asset)
            assert answer.status_code == 200, asset
            assert len(answer.content) > 1000, asset


def test_swagger_ui_renders_the_schema_with_every_other_host_unreachable(
    tmp_path, clickhouse_server, browser, artifacts
):
    api = ApiProcess(ingest_settings(tmp_path), clickhouse_server.url).start()
    context = browser.new_context()
    try:
        page = context.new_page()
        elsewhere: list[str] = []

        def only_the_api(route):
            if route.request.url.startswith(api.url):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_api)
        page.goto(f"{api.url}/docs")
        page.get_by_text("/v1/signals", exact=True).first.wait_for(timeout=15_000)
        page.screenshot(path=artifacts / "api-docs.png")
        assert elsewhere == []
    finally:
        context.close()
        api.kill(signal.SIGTERM)
