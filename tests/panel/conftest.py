from __future__ import annotations

import pytest

from tests.api.ingest_support import ApiProcess, ingest_settings, seed_project
from tests.fixtures.smtp import smtp_controller
from tests.panel.panel_support import ADMIN_TOKEN, PolicyWatchingBrowser, require_built_panel


@pytest.fixture(scope="session")
def browser(browser):
    """The session's Chromium, whose contexts keep what a Content-Security-Policy blocked (``check_screen`` asserts none)."""
    return PolicyWatchingBrowser(browser)


@pytest.fixture(scope="module")
def panel_mailbox():
    """A real SMTP server on loopback for the API's account mails; ``.server`` is its controller."""
    with smtp_controller() as (controller, handler):
        handler.server = controller
        yield handler


@pytest.fixture(scope="module")
def site_pages():
    """A customer's site: pages served from an origin of their own (loopback, another port)."""
    from tests.sdk.support import PageServer

    server = PageServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def panel_api(clickhouse_server, tmp_path_factory, panel_mailbox):
    """The API serving the built panel, with the admin token set, mails to ``panel_mailbox`` and one
    seeded project (``.project``)."""
    require_built_panel()
    settings = ingest_settings(tmp_path_factory.mktemp("panel-home"))
    project = seed_project(settings)
    smtp = f"smtp://{panel_mailbox.server.hostname}:{panel_mailbox.server.port}"
    api = ApiProcess(settings, clickhouse_server.url, FEELBACK_ADMIN_TOKEN=ADMIN_TOKEN, FEELBACK_SMTP_URL=smtp)
    api.env["FEELBACK_PUBLIC_URL"] = api.url
    api.start()
    api.project = project
    yield api
    api.kill()
