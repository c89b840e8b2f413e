"""The widget stats tests share one world: a project (Pacific/Auckland, one content set per type plus a
private one) with a random history of the last 120 days, which one dbt build turns into marts
(``tests.api.stats_support.world``, built once for this package).

The modules may run in any order: a test that compares the API with the marts asks for ``built_world``,
which builds again only when other tests added events to the world since the last build.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.ingest_support import BROWSER_UA
from tests.api.stats_support import built_world, world  # noqa: F401  (fixtures: the built project)


@pytest.fixture(scope="module")
def api(world):
    from ingest_api.app import create_app

    with TestClient(create_app(world.settings), headers={"X-Feelback-Key": world.public_key, "User-Agent": BROWSER_UA}) as client:
        yield client
