"""A private route that forgets the permission check cannot be served: the app refuses to start."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends

from feelback.settings import Settings
from ingest_api.app import create_app
from ingest_api.auth.limits import AttemptThrottle
from ingest_api.auth.permissions import authorize, check_guarded_routes


def _app_with(router: APIRouter, tmp_path):
    app = create_app(Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path}/control.db"))
    app.include_router(router)
    return app


def test_a_route_without_authorize_stops_the_app(tmp_path):
    rogue = APIRouter()

    @rogue.get("/v1/projects/{project_id}/secrets")
    def leak(project_id: str) -> dict:
        return {"project": project_id}

    with pytest.raises(RuntimeError) as refused:
        check_guarded_routes(_app_with(rogue, tmp_path))
    assert "GET /v1/projects/{project_id}/secrets does not run ingest_api.auth.permissions.authorize" in str(refused.value)
    assert "GET /v1/projects/{project_id}/secrets has no role in ROUTE_ROLES" in str(refused.value)


def test_a_route_with_authorize_but_no_declared_role_stops_the_app(tmp_path):
    forgetful = APIRouter(prefix="/v1/organizations", dependencies=[Depends(authorize)])

    @forgetful.post("/{org_id}/billing")
    def billing(org_id: str) -> dict:
        return {}

    with pytest.raises(RuntimeError, match=r"POST /v1/organizations/\{org_id\}/billing has no role in ROUTE_ROLES"):
        check_guarded_routes(_app_with(forgetful, tmp_path))


def test_the_app_as_built_declares_every_private_route(tmp_path):
    check_guarded_routes(create_app(Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path}/control.db")))


def test_failures_age_out_of_the_window():
    now = [1000.0]
    throttle = AttemptThrottle(free=1, refuse_after=3, window_seconds=60, max_delay=2.0, clock=lambda: now[0])
    assert (throttle.delay("a"), throttle.refused_for("a")) == (0.0, 0.0)
    for _ in range(3):
        throttle.failed("a")
        now[0] += 1
    assert throttle.delay("a") == 2.0 and throttle.refused_for("a") == pytest.approx(57.0)
    assert throttle.refused_for("b") == 0.0
    now[0] += 60  # every failure is older than the window now
    assert throttle.refused_for("a") == 0.0 and throttle.delay("a") == 0.0
    throttle.failed("a")
    throttle.succeeded("a")
    assert throttle.delay("a") == 0.0
