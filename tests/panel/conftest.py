from __future__ import annotations

import pytest

from tests.api.ingest_support import ApiProcess, ingest_settings, seed_project
from tests.panel.panel_support import ADMIN_TOKEN, require_built_panel


@pytest.fixture(scope="module")
def panel_api(clickhouse_server, tmp_path_factory):
    """The API serving the built panel, with the admin token set and one seeded project (``.project``)."""
    require_built_panel()
    settings = ingest_settings(tmp_path_factory.mktemp("panel-home"))
    project = seed_project(settings)
    api = ApiProcess(settings, clickhouse_server.url, FEELBACK_ADMIN_TOKEN=ADMIN_TOKEN).start()
    api.project = project
    yield api
    api.kill()
