"""Public read of content sets' configuration, for widgets: type, rating scale, reactions, message
tags and form fields, edit window. One request answers for every set on a page.

Auth and origins as the other public routes (the project's public key in ``X-Feelback-Key`` or
``key``; a browser ``Origin`` must be allowed). Cached by browsers and CDNs for a minute.

Contract: ``GET /v1/widget-config?set=a&set=b`` → ``{"sets": {"a": {...}}, "unknown": ["b"]}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from feelback.domain import CONTENT_SET_KEY_PATTERN
from ingest_api.dependencies import KEY_HEADER, KeyAuth, check_origin, load_rules_or_refusal, require_public_key

MAX_SETS = 50
CACHE = "public, max-age=60, stale-while-revalidate=600"

router = APIRouter(prefix="/v1", tags=["widgets"])


class WidgetSetConfig(BaseModel):
    signal_type: str
    config: dict[str, Any] = Field(description="Per-type configuration: scale, reactions, tags, form_fields, max_length")
    edit_window_seconds: int
    one_per_visitor: bool


class WidgetConfig(BaseModel):
    sets: dict[str, WidgetSetConfig]
    unknown: list[str] = Field(description="Asked-for set keys that the project does not have")


SetKeys = Annotated[
    list[Annotated[str, Field(pattern=CONTENT_SET_KEY_PATTERN)]],
    Query(alias="set", min_length=1, max_length=MAX_SETS, description="Content set keys; repeat the parameter"),
]


@router.get(
    "/widget-config",
    summary="Configuration of content sets, for widgets",
    response_model=WidgetConfig,
    responses={401: {"description": "Missing, unknown or revoked key"}, 403: {"description": "Origin not allowed"}},
)
async def widget_config(
    request: Request,
    sets: SetKeys,
    auth: Annotated[KeyAuth, Depends(require_public_key)],
    _origin: Annotated[str | None, Depends(check_origin)],
) -> JSONResponse:
    sessionmaker, project_id = request.app.state.sessionmaker, auth.project_id

    def load() -> dict[str, Any]:
        found, unknown = {}, []
        for key in dict.fromkeys(sets):
            rules = load_rules_or_refusal(sessionmaker, project_id, key)
            if hasattr(rules, "signal_type"):
                found[key] = WidgetSetConfig(
                    signal_type=rules.signal_type.value, config=rules.config.model_dump(mode="json"),
                    edit_window_seconds=rules.edit_window_seconds, one_per_visitor=rules.one_per_visitor,
                ).model_dump()  # fmt: skip
            else:
                unknown.append(key)
        return {"sets": found, "unknown": unknown}

    body = await run_in_threadpool(load)
    return JSONResponse(body, headers={"Cache-Control": CACHE, "Vary": f"{KEY_HEADER}, Origin"})
