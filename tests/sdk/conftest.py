from __future__ import annotations

import signal

import pytest

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import ContentSet
from feelback.demo import ensure_demo
from tests.api.ingest_support import BROWSER_UA, ApiProcess, ingest_settings
from tests.sdk.support import QUICK_SET, TEN_SET, PageServer, SdkStack, ensure_built


@pytest.fixture(scope="session")
def sdk_built() -> None:
    ensure_built()


@pytest.fixture(scope="session")
def sdk_stack(tmp_path_factory, clickhouse_server, sdk_built) -> SdkStack:
    """The API process serving the built SDK, with the demo project; a page server on another origin."""
    settings = ingest_settings(tmp_path_factory.mktemp("sdk-home"))
    demo = ensure_demo(settings)
    with session_scope(settings) as session:  # a set whose edit window closes at once
        session.add(ContentSet(project_id=demo.project_id, key=QUICK_SET, signal_type="yesno", edit_window_seconds=1))
        session.add(ContentSet(project_id=demo.project_id, key=TEN_SET, signal_type="rating", config={"scale": 10}))
    api = ApiProcess(settings, clickhouse_server.url).start()
    pages = PageServer()
    yield SdkStack(api.url, demo, pages)
    pages.close()
    api.kill(signal.SIGTERM)


@pytest.fixture()
def page(browser):
    """A page in a fresh context that looks like a person's browser (headless Chromium's user agent
    is a known crawler's, whose signals are stored but never counted)."""
    context = browser.new_context(user_agent=BROWSER_UA)
    yield context.new_page()
    context.close()
