"""Public read of content sets' configuration, for widgets: type, rating scale, reactions, message
tags and form fields, edit window. One request answers for every set on a page.

Auth and origins as the other public routes (the project's public key in ``X-Feelback-Key`` or
``key``; a browser ``Origin`` must be allowed). Answers are kept in-process for a few seconds (as
ingest keeps keys and sets), and by browsers and CDNs for a minute.

Contract: ``GET /v1/widget-config?set=a&set=b`` → ``{"sets": {"a": {...}}, "unknown": ["b"]}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from feelback.domain import CONTENT_SET_KEY_PATTERN, origin_allowed
from ingest_api.cache import LoadingCache
from ingest_api.dependencies import KEY_HEADER, load_content_set, require_public_key, rules_of
from ingest_api.errors import ApiError, forbidden

MAX_SETS = 50
CACHE_SECONDS = 5.0
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


class WidgetConfigs:
    """The configuration of a key's sets, loaded once per few seconds: (allowed origins, answer) or the refusal."""

    def __init__(self, sessionmaker: Any):
        self.sessionmaker = sessionmaker
        self.cache = LoadingCache(CACHE_SECONDS, expected=(ApiError,))

    async def read(self, header_key: str | None, query_key: str | None, sets: tuple[str, ...]) -> tuple[tuple[str, ...], dict]:
        found = await self.cache.get((header_key, query_key, sets), lambda: self._load(header_key, query_key, sets))
        if isinstance(found, ApiError):
            raise ApiError(found.status, found.code, found.message, found.headers)
        return found

    def _load(self, header_key: str | None, query_key: str | None, sets: tuple[str, ...]) -> tuple[tuple[str, ...], dict] | ApiError:
        with self.sessionmaker() as session:
            try:
                auth = require_public_key(session, header_key=header_key, query_key=query_key)
            except ApiError as refused:
                return refused
            found, unknown = {}, []
            for key in sets:
                try:
                    rules = rules_of(load_content_set(session, auth.project_id, key))
                except ApiError:
                    unknown.append(key)
                    continue
                found[key] = WidgetSetConfig(
                    signal_type=rules.signal_type.value, config=rules.config.model_dump(mode="json"),
                    edit_window_seconds=rules.edit_window_seconds, one_per_visitor=rules.one_per_visitor,
                ).model_dump()  # fmt: skip
            return tuple(auth.project.allowed_origins or ()), {"sets": found, "unknown": unknown}


def configs_of(request: Request) -> WidgetConfigs:
    configs = getattr(request.app.state, "widget_configs", None)
    if configs is None:
        configs = request.app.state.widget_configs = WidgetConfigs(request.app.state.sessionmaker)
    return configs


@router.get(
    "/widget-config",
    summary="Configuration of content sets, for widgets",
    response_model=WidgetConfig,
    responses={401: {"description": "Missing, unknown or revoked key"}, 403: {"description": "Origin not allowed"}},
)
async def widget_config(
    request: Request,
    sets: SetKeys,
    key: Annotated[str | None, Query(description="The project's public key (fb_pk_...)")] = None,
    header_key: Annotated[str | None, Header(alias=KEY_HEADER, include_in_schema=False)] = None,
) -> JSONResponse:
    origins, body = await configs_of(request).read(header_key, key, tuple(dict.fromkeys(sets)))
    origin = request.headers.get("origin")
    if origin is not None and not origin_allowed(origin, origins):
        raise forbidden(f"origin {origin} is not allowed for this project; allowed origins: {', '.join(origins)}", code="origin_not_allowed")
    return JSONResponse(body, headers={"Cache-Control": CACHE, "Vary": f"{KEY_HEADER}, Origin"})
