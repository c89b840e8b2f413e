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

``StatsFastPath`` serves the GETs straight from ASGI (FastAPI's routing and dependency solving
cost several times what a cached read does); anything it does not recognise as plainly valid goes
on to the routes below, which give the same answers and every validation message.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from feelback.domain import ContentSetRules
from ingest_api.dependencies import KEY_HEADER
from ingest_api.errors import ApiError, error_response
from ingest_api.stats.service import Reader, Stats, StatsService
from ingest_api.stats.windows import Window

MAX_BATCH_CONTENTS = 100
MAX_CONTENT_KEY_LENGTH = 2048
MAX_TOP = 100
MAX_SET_KEY_LENGTH = 40
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
    return service_of(request.app)


def service_of(app: FastAPI) -> StatsService:
    """The app's stats state, made on first use (so apps driven without lifespan work too)."""
    service = getattr(app.state, "stats", None)
    if service is None:
        service = app.state.stats = StatsService(app.state.settings, app.state.sessionmaker)
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


async def target_of(
    service: StatsService, content_set: str, header_key: str | None, key: str | None, authorization: str | None
) -> Target:
    scheme, _, token = (authorization or "").partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    reader = await service.reader(header_key, key, bearer)
    return Target(service, reader, await service.content_set(reader, content_set))


async def read_target(
    request: Request,
    content_set: Annotated[str, Path(description="Key of the content set", max_length=MAX_SET_KEY_LENGTH)],
    header_key: Annotated[str | None, Header(alias=KEY_HEADER, include_in_schema=False)] = None,
    key: Annotated[str | None, Query(description="The project's public key (fb_pk_...)")] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Target:
    return await target_of(stats_service(request), content_set, header_key, key, authorization)


ReadTarget = Annotated[Target, Depends(read_target)]


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    opaque = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


_PUBLIC_HEADERS = ((b"cache-control", PUBLIC_CACHE.encode()), (b"vary", VARY.encode()))
_PRIVATE_HEADERS = ((b"cache-control", PRIVATE_CACHE.encode()), (b"vary", VARY.encode()))
_JSON = (b"content-type", b"application/json")


class StatsResponse(Response):
    """A stats answer: 200 with the body (``as_of`` spliced in), or 304 when ``If-None-Match`` has its
    ETag; headers ETag, Cache-Control, Vary (and Content-Length, Content-Type with a body)."""

    def __init__(self, stats: Stats, public: bool, if_none_match: str | None):
        etag = stats.rendered.etag
        headers = [(b"etag", etag.encode()), *(_PUBLIC_HEADERS if public else _PRIVATE_HEADERS)]
        self.background = None
        if _etag_matches(if_none_match, etag):
            self.status_code, self.body = 304, b""
        else:
            self.status_code, self.body = 200, stats.rendered.with_as_of(stats.delta.as_of)
            headers += [(b"content-length", b"%d" % len(self.body)), _JSON]
        self.raw_headers = headers


def respond(request: Request, target: Target, stats: Stats) -> Response:
    return StatsResponse(stats, target.rules.public_stats, request.headers.get("if-none-match"))


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


# --- the fast path -------------------------------------------------------------------------------

PREFIX = "/v1/stats/"
WINDOWS = {window.value: window for window in Window}
RANK_BY = ("count", "sentiment", "average")
_COUNT = re.compile(r"[1-9][0-9]{0,8}")


@dataclass(frozen=True)
class StatsGet:
    """A stats GET whose parameters are all plainly valid (so the routes would accept them as they are)."""

    content_set: str
    kind: str  # "set", "top", "batch" or "content"
    window: Window
    key: str | None
    content_key: str = ""
    contents: tuple[str, ...] = ()
    by: str = "count"
    limit: int = 10
    min_total: int = 1


def _content_key_ok(content_key: str) -> bool:
    return 1 <= len(content_key) <= MAX_CONTENT_KEY_LENGTH


def _count(text: str | None, default: int, at_most: int | None = None) -> int | None:
    if text is None:
        return default
    if _COUNT.fullmatch(text) is None or (at_most is not None and int(text) > at_most):
        return None
    return int(text)


def parse_stats_get(path: str, query_string: bytes) -> StatsGet | None:
    """The read that ``path`` and its query ask for, as the routes would match and validate it;
    None when anything is unusual (the routes then answer, with their validation messages)."""
    content_set, slash, rest = path[len(PREFIX):].partition("/")
    if not content_set or len(content_set) > MAX_SET_KEY_LENGTH:
        return None
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)  # as Starlette's QueryParams
    query = dict(pairs)  # a repeated parameter: the last value, as FastAPI reads single values
    window = WINDOWS.get(query.get("window", "all"))
    if window is None:
        return None
    key = query.get("key")
    if not slash:
        return StatsGet(content_set, "set", window, key)
    if rest == "top":
        by, limit, min_total = query.get("by", "count"), _count(query.get("limit"), 10, MAX_TOP), _count(query.get("min_total"), 1)
        if by not in RANK_BY or limit is None or min_total is None:
            return None
        return StatsGet(content_set, "top", window, key, by=by, limit=limit, min_total=min_total)
    if rest == "batch":
        contents = tuple(value for name, value in pairs if name == "content")
        if not 1 <= len(contents) <= MAX_BATCH_CONTENTS or not all(map(_content_key_ok, contents)):
            return None
        return StatsGet(content_set, "batch", window, key, contents=tuple(dict.fromkeys(contents)))
    if not _content_key_ok(rest):
        return None
    return StatsGet(content_set, "content", window, key, content_key=rest)


async def answer(service: StatsService, read: StatsGet, headers: Mapping[bytes, bytes]) -> Response:
    """What the routes answer to ``read``: the stats, or the error of the key, set or parameters."""

    def header(name: bytes) -> str | None:
        value = headers.get(name)
        return None if value is None else value.decode("latin-1")

    try:
        target = await target_of(service, read.content_set, header(b"x-feelback-key"), read.key, header(b"authorization"))
        reader, rules = target.reader, target.rules
        if read.kind == "content":
            stats = await service.content_stats(reader, rules, read.content_key, read.window)
        elif read.kind == "set":
            stats = await service.set_stats(reader, rules, read.window)
        elif read.kind == "batch":
            stats = await service.batch_stats(reader, rules, list(read.contents), read.window)
        else:
            stats = await service.top(reader, rules, read.window, read.by, read.limit, read.min_total)
    except ApiError as refused:
        return error_response(refused.status, refused.code, refused.message, refused.headers)
    return StatsResponse(stats, rules.public_stats, header(b"if-none-match"))


def _first_headers(raw: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Request headers by (lower-case) name, the first of repeated ones, as Starlette's ``headers.get``."""
    found: dict[bytes, bytes] = {}
    for name, value in raw:
        found.setdefault(name, value)
    return found


class StatsFastPath:
    """Serves ``GET /v1/stats/...`` straight from ASGI, before routing, when every parameter is
    plainly valid; everything else (and every other request) goes on to the app.

    The routes stay registered (OpenAPI, validation messages, ``POST .../batch``); this skips only
    the router and FastAPI's per-route machinery, which cost several times a cached read. Installed
    by ``create_app`` inside the CORS middleware, like ``signals.IngestFastPath``.
    """

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope.get("root_path")
            and scope["path"].startswith(PREFIX)
        ):
            read = parse_stats_get(scope["path"], scope["query_string"])
            if read is not None:
                response = await answer(service_of(scope["app"]), read, _first_headers(scope["headers"]))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
