"""Stats for widgets: counts, averages and sentiment per content, per content set, for many contents, and rankings.

* Auth: the project's public key (``X-Feelback-Key`` header or ``key`` query parameter) reads sets
  with public stats; a set with private stats needs a secret key (``Authorization: Bearer fb_sk_...``
  or the ``X-Feelback-Key`` header), else 403 ``private_stats``.
* Windows: ``7d``, ``30d``, ``90d`` (ending today), ``week``, ``month``, ``year`` (the current ones)
  and ``all``, in the project's time zone; a signal counts on the day it was created.
* Freshness: the last build's marts plus the operations acknowledged since (``ingest_api.stats``);
  every operation acknowledged at least 2 s before a read is in it. ``built_through`` is the
  build's watermark, ``as_of`` when the live part was read.
* HTTP caching: a weak ``ETag`` of the numbers (``If-None-Match`` gets 304) and ``Cache-Control``
  ``public, max-age=1, stale-while-revalidate=1`` for public sets (``private`` otherwise), varying on
  the key headers, so a CDN can front the API without serving numbers older than a few seconds.

A content key is the rest of the path, slashes included (``/v1/stats/docs//guide/intro`` or
``/v1/stats/docs/%2Fguide%2Fintro``); a content keyed ``top`` or ``batch`` is read with ``batch``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from feelback.domain import ContentSetRules
from ingest_api.dependencies import KEY_HEADER
from ingest_api.stats.service import Reader, Stats, StatsService
from ingest_api.stats.windows import Window

MAX_BATCH_CONTENTS = 100
MAX_CONTENT_KEY_LENGTH = 2048
MAX_TOP = 100
PUBLIC_CACHE = "public, max-age=1, stale-while-revalidate=1"
PRIVATE_CACHE = "private, max-age=1"
VARY = f"{KEY_HEADER}, Authorization"


@asynccontextmanager
async def stats_lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        yield
    finally:
        service = getattr(app.state, "stats", None)
        if service is not None:
            service.close()
            app.state.stats = None


router = APIRouter(prefix="/v1/stats", tags=["stats"], lifespan=stats_lifespan)


def stats_service(request: Request) -> StatsService:
    """The app's stats state, made on first use (so apps driven without lifespan work too)."""
    service = getattr(request.app.state, "stats", None)
    if service is None:
        service = request.app.state.stats = StatsService(request.app.state.settings, request.app.state.sessionmaker)
    return service


# --- response bodies (for the OpenAPI schema; routes send pre-serialized JSON) -------------------


class WindowOut(BaseModel):
    name: Window
    start: str | None = Field(description="First day counted (ISO date); null for `all`")
    end: str = Field(description="Last day of the window (ISO date, inclusive)")
    timezone: str


class SentimentOut(BaseModel):
    positive: int
    neutral: int
    negative: int
    unscored: int = Field(description="Messages not scored yet")
    score: float | None = Field(description="Mean sentiment on [-1, 1]; null without scored signals")


class StatsOut(BaseModel):
    total: int = Field(description="Live signals")
    counts: dict[str, int] = Field(description="Signals per value: yes/no, up/down, 1..scale, like, reaction key")
    average: float | None = Field(description="Average rating (rating sets); null otherwise")
    sentiment: SentimentOut


class _Heading(BaseModel):
    content_set: str
    signal_type: str
    rating_scale: int | None = None
    window: WindowOut
    built_through: str | None = Field(description="Watermark of the last build: the marts hold every event received up to it")
    as_of: str = Field(description="When the events since the build were read")


class ContentStatsOut(_Heading, StatsOut):
    content_key: str


class SetStatsOut(_Heading, StatsOut):
    pass


class BatchStatsOut(_Heading):
    contents: dict[str, StatsOut]


class RankedContent(StatsOut):
    content_key: str


class TopOut(_Heading):
    by: Literal["count", "sentiment", "average"]
    items: list[RankedContent]


ContentKey = Annotated[str, Field(min_length=1, max_length=MAX_CONTENT_KEY_LENGTH)]


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contents: Annotated[list[ContentKey], Field(min_length=1, max_length=MAX_BATCH_CONTENTS)]
    window: Window = Window.all


# --- shared parameters ---------------------------------------------------------------------------

WindowParam = Annotated[
    Window,
    Query(description="7d, 30d, 90d (ending today), week, month, year (current), or all; in the project's time zone"),
]


@dataclass(frozen=True)
class Target:
    service: StatsService
    reader: Reader
    rules: ContentSetRules


async def read_target(
    request: Request,
    content_set: Annotated[str, Path(description="Key of the content set", max_length=40)],
    header_key: Annotated[str | None, Header(alias=KEY_HEADER, include_in_schema=False)] = None,
    key: Annotated[str | None, Query(description="The project's public key (fb_pk_...)")] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Target:
    service = stats_service(request)
    scheme, _, token = (authorization or "").partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    reader = await service.reader(header_key, key, bearer)
    return Target(service, reader, await service.content_set(reader, content_set))


ReadTarget = Annotated[Target, Depends(read_target)]


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    opaque = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


def respond(request: Request, target: Target, stats: Stats) -> Response:
    digest = hashlib.blake2b(orjson.dumps(stats.body), digest_size=12).hexdigest()
    headers = {
        "ETag": f'W/"{digest}"',
        "Cache-Control": PUBLIC_CACHE if target.rules.public_stats else PRIVATE_CACHE,
        "Vary": VARY,
    }
    if _etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    as_of = stats.delta.checked_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return Response(orjson.dumps({**stats.body, "as_of": as_of}), media_type="application/json", headers=headers)


_ERRORS = {
    401: {"description": "Missing, unknown or revoked key"},
    403: {"description": "The set's stats are private and the key is not a secret key"},
    404: {"description": "No such content set in the key's project"},
    422: {"description": "A parameter is invalid; the message names it"},
}


# --- routes (fixed paths before the content-key catch-all) ---------------------------------------


@router.get("/{content_set}", summary="Stats of a content set", response_model=SetStatsOut, responses=_ERRORS)
async def set_stats(request: Request, target: ReadTarget, window: WindowParam = Window.all) -> Response:
    return respond(request, target, await target.service.set_stats(target.reader, target.rules, window))


@router.get(
    "/{content_set}/top",
    summary="Top contents of a content set",
    description="Contents ranked by live signals (`count`), sentiment score (`sentiment`) or average rating (`average`), "
    "ties by count then content key.",
    response_model=TopOut,
    responses=_ERRORS,
)
async def top_contents(
    request: Request,
    target: ReadTarget,
    window: WindowParam = Window.all,
    by: Annotated[Literal["count", "sentiment", "average"], Query(description="What to rank by")] = "count",
    limit: Annotated[int, Query(ge=1, le=MAX_TOP, description="How many contents")] = 10,
    min_total: Annotated[int, Query(ge=1, description="Only contents with at least this many signals")] = 1,
) -> Response:
    stats = await target.service.top(target.reader, target.rules, window, by, limit, min_total)
    return respond(request, target, stats)


@router.get(
    "/{content_set}/batch",
    summary="Stats of many contents (listing pages)",
    response_model=BatchStatsOut,
    responses=_ERRORS,
)
async def batch_stats(
    request: Request,
    target: ReadTarget,
    content: Annotated[
        list[ContentKey],
        Query(min_length=1, max_length=MAX_BATCH_CONTENTS, description="Content keys; repeat the parameter"),
    ],
    window: WindowParam = Window.all,
) -> Response:
    contents = list(dict.fromkeys(content))
    return respond(request, target, await target.service.batch_stats(target.reader, target.rules, contents, window))


@router.post(
    "/{content_set}/batch",
    summary="Stats of many contents (listing pages), keys in the body",
    response_model=BatchStatsOut,
    responses=_ERRORS,
)
async def batch_stats_post(request: Request, target: ReadTarget, body: BatchRequest) -> Response:
    contents = list(dict.fromkeys(body.contents))
    return respond(request, target, await target.service.batch_stats(target.reader, target.rules, contents, body.window))


@router.get(
    "/{content_set}/{content_key:path}",
    summary="Stats of one content",
    response_model=ContentStatsOut,
    responses=_ERRORS,
)
async def content_stats(
    request: Request,
    target: ReadTarget,
    content_key: Annotated[str, Path(min_length=1, max_length=MAX_CONTENT_KEY_LENGTH, description="The content's key")],
    window: WindowParam = Window.all,
) -> Response:
    stats = await target.service.content_stats(target.reader, target.rules, content_key, window)
    return respond(request, target, stats)
