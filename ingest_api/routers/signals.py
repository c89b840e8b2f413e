"""Public ingest for the SDK: create, edit and revoke signals, one at a time or in batches.

Every operation becomes one row of ``raw.feedback_events``. A 2xx means the row is in the fsynced
write-ahead spool (``ingest_api.spool``), from which the drainer (``ingest_api.writer``) inserts it
into ClickHouse exactly once, normally within a second.

* Auth: the project's public key (``X-Feelback-Key`` header or ``key`` query parameter); a browser
  ``Origin`` must be one of the project's allowed origins. Keys, origins and content-set rules are
  cached for ``CACHE_SECONDS`` so the hot path does not touch the control-plane DB.
* Idempotency: each operation has an ``idempotency_key`` (body field, or the ``Idempotency-Key``
  header; generated when absent, and then retries are not recognised). A retry with the same key
  gets the first answer again and writes nothing (``ingest_api.spool_replay``); the same key with a
  different request is a 409. A create's signal id is uuid5(project, key), so a retry that reaches
  another replica still names the same signal.
* Edits and revokes carry the edit token returned by create (``ingest_api.privacy.EditTokens``);
  after the content set's edit window they get 409 ``signal_final`` with ``closed_at``.
* Limits: body size (413), per-visitor and per-project rate (429 + Retry-After), spool budget
  (503 + Retry-After). Crawlers are stored with ``is_bot = true`` (see ``ingest_api.bots``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from feelback.domain import (
    ContentSetRules,
    NormalizedSignal,
    Operation,
    SignalType,
    SignalValueError,
    normalize_signal,
    origin_allowed,
)
from feelback.settings import Settings
from ingest_api.bots import is_bot
from ingest_api.dependencies import KEY_HEADER, load_rules_or_refusal, require_public_key
from ingest_api.errors import ApiError, validation_message
from ingest_api.privacy import DailySalts, EditGrant, EditTokenError, EditTokens, load_or_create_secret, visitor_hash
from ingest_api.ratelimit import IngestLimits, retry_after_header
from ingest_api.signal_schemas import (
    EDIT_TOKEN_HEADER,
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_KEY,
    MAX_BATCH_OPERATIONS,
    BatchRequest,
    BatchResult,
    CreatedSignal,
    CreateOperation,
    CreateSignal,
    EditedSignal,
    EditOperation,
    EditSignal,
    RevokedSignal,
    RevokeOperation,
    RevokeSignal,
    SignalValue,
    body_schema,
    documented,
    error_responses,
    operation_adapter,
)
from ingest_api.spool import Spool, SpoolFull
from ingest_api.spool_replay import Answer, RecentOperations
from ingest_api.writer import Drainer

log = structlog.get_logger(__name__)

CACHE_SECONDS = 5.0
MAX_FUTURE_SKEW = dt.timedelta(minutes=5)
MAX_CLIENT_DELAY = dt.timedelta(days=30)
REPLAYED_HEADER = "Idempotent-Replayed"
_SIGNAL_NAMESPACE = uuid.UUID("6f1c3c52-4d8e-4a53-9d0c-4f2b7e1f0a11")
_EVENT_NAMESPACE = uuid.UUID("0b6e2d8a-7c1f-4e55-8a3b-2f9d6c4e8b21")
_NAMESPACE_BYTES = {namespace: namespace.bytes for namespace in (_SIGNAL_NAMESPACE, _EVENT_NAMESPACE)}
_CREATE, _EDIT, _REVOKE = Operation.create.value, Operation.edit.value, Operation.revoke.value


# --- refusals ---------------------------------------------------------------------------------


class Refusal(Exception):
    """An operation that is not stored; rendered as ``{"error": {"code", "message", ...}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers, extra

    @property
    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def _rate_limited(seconds: float, whose: str) -> Refusal:
    after = retry_after_header(seconds)
    return Refusal(
        429, "rate_limited", f"too many signals from this {whose}; retry after {after} s",
        headers={"Retry-After": after}, retry_after=int(after),
    )  # fmt: skip


def _invalid(exc: ValidationError | SignalValueError) -> Refusal:
    if isinstance(exc, SignalValueError):
        return Refusal(422, "invalid_signal", str(exc))
    return Refusal(422, "invalid_request", validation_message(exc.errors()))


# --- app-scoped state -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectAccess:
    project_id: str
    allowed_origins: tuple[str, ...]


class _TTLCache:
    """Values loaded in a worker thread and kept ``seconds``; concurrent misses share one load."""

    def __init__(self, seconds: float, max_entries: int = 10_000):
        self.seconds, self.max_entries = seconds, max_entries
        self._values: dict[Any, tuple[float, Any]] = {}
        self._loading: dict[Any, asyncio.Future[Any]] = {}

    def peek(self, key: Any) -> Any:
        entry = self._values.get(key)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    async def get(self, key: Any, load: Callable[..., Any], *args: Any) -> Any:
        entry = self._values.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        loading = self._loading.get(key)
        if loading is None or loading.get_loop() is not asyncio.get_running_loop():
            loading = self._loading[key] = asyncio.ensure_future(self._load(key, load, *args))
        return await asyncio.shield(loading)

    async def _load(self, key: Any, load: Callable[..., Any], *args: Any) -> Any:
        try:
            value = await run_in_threadpool(load, *args)  # failures (a 401) are not kept
        finally:
            self._loading.pop(key, None)
        if len(self._values) >= self.max_entries:
            self._values.clear()
        self._values[key] = (time.monotonic() + self.seconds, value)
        return value


class SignalIngest:
    """Everything the public routes share inside one API process."""

    def __init__(self, settings: Settings, sessionmaker: Callable[[], Any]):
        from warehouse.client import get_client

        home = settings.home
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.spool = Spool(home / "spool", settings.spool_max_bytes)
        self.recent = RecentOperations()
        self.limits = IngestLimits(settings.rate_limit_visitor_per_minute, settings.rate_limit_project_per_second)
        self.salts = DailySalts(home / "ingest" / "salts")
        secret = settings.ingest_secret.encode() or load_or_create_secret(home / "ingest" / "secret")
        self.tokens = EditTokens(secret)
        self.drainer = Drainer(
            self.spool,
            lambda: get_client(settings, send_receive_timeout=30),
            interval_seconds=settings.spool_drain_interval_ms / 1000,
        )
        self.clock: Callable[[], float] = time.time
        self._keys = _TTLCache(CACHE_SECONDS)
        self._sets = _TTLCache(CACHE_SECONDS)

    def start(self) -> None:
        self.spool.open()
        remembered = self.recent.rebuild(self.spool.recent_records())
        if remembered:
            log.info("ingest_idempotency_keys_recovered", keys=remembered)
        self.drainer.start()

    async def stop(self) -> None:
        await self.spool.flush()
        await run_in_threadpool(self.drainer.stop)
        self.spool.close()

    async def project_for_key(self, header_key: str | None, query_key: str | None) -> ProjectAccess:
        return await self._keys.get((header_key, query_key), self._load_project, header_key, query_key)

    def _load_project(self, header_key: str | None, query_key: str | None) -> ProjectAccess:
        with self.sessionmaker() as session:
            auth = require_public_key(session, header_key=header_key, query_key=query_key)
            return ProjectAccess(auth.project_id, tuple(auth.project.allowed_origins or ()))

    def cached_rules(self, project_id: str, set_key: str) -> ContentSetRules | None:
        """The content set's rules when cached and valid, without suspending."""
        rules = self._sets.peek((project_id, set_key))
        return rules if isinstance(rules, ContentSetRules) else None

    async def rules(self, project_id: str, set_key: str) -> ContentSetRules:
        rules = await self._sets.get((project_id, set_key), self._load_rules, project_id, set_key)
        if isinstance(rules, ApiError):
            raise Refusal(rules.status, rules.code, rules.message)
        return rules

    def _load_rules(self, project_id: str, set_key: str) -> ContentSetRules | ApiError:
        return load_rules_or_refusal(self.sessionmaker, project_id, set_key)


@asynccontextmanager
async def ingest_lifespan(app: FastAPI) -> AsyncIterator[None]:
    ingest = _ingest_of(app)
    try:
        yield
    finally:
        await ingest.stop()
        app.state.signal_ingest = None


def _ingest_of(app: FastAPI) -> SignalIngest:
    """The app's ingest state, started on first use (so apps driven without lifespan work too)."""
    ingest = getattr(app.state, "signal_ingest", None)
    if ingest is None:
        ingest = SignalIngest(app.state.settings, app.state.sessionmaker)
        ingest.start()
        app.state.signal_ingest = ingest
    return ingest


# --- one request's context --------------------------------------------------------------------


def _ch_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


@lru_cache(maxsize=64)
def _ch_second(second: int) -> str:
    return dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.")


def _ch_time_ms(ms: int) -> str:
    """An epoch-milliseconds time as ClickHouse's DateTime64(3) text (strftime once per second)."""
    return f"{_ch_second(ms // 1000)}{ms % 1000:03d}"


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@lru_cache(maxsize=1024)
def _iso_ms(ms: int) -> str:
    return _iso(dt.datetime.fromtimestamp(ms / 1000, dt.UTC))


def _uuid5(namespace: uuid.UUID, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))``, without building UUID objects (it runs per operation)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES[namespace] + name.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass
class Caller:
    """Who is calling and when: the same for every operation of one request."""

    ingest: SignalIngest
    project_id: str
    ip: str
    user_agent: str
    is_bot: bool
    received_ms: int

    received_at: dt.datetime = dt.datetime.min
    received_text: str = ""

    def __post_init__(self) -> None:
        self.received_at = dt.datetime.fromtimestamp(self.received_ms / 1000, dt.UTC)
        self.received_text = _ch_time_ms(self.received_ms)

    def visitor(self, anonymous_id: str | None) -> str:
        if anonymous_id:
            return anonymous_id
        salt = self.ingest.salts.salt_for(self.received_at.date())
        return visitor_hash(salt, self.ip, self.user_agent, self.project_id)

    def occurred(self, occurred_at: dt.datetime | None) -> str:
        """``occurred_at`` as stored (default: the time received); 422 when implausible."""
        if occurred_at is None:
            return self.received_text
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=dt.UTC)
        occurred_at = occurred_at.astimezone(dt.UTC)
        if occurred_at > self.received_at + MAX_FUTURE_SKEW:
            raise Refusal(
                422, "invalid_request", f"occurred_at: must not be more than 5 minutes in the future (got {_iso(occurred_at)})"
            )
        if occurred_at < self.received_at - MAX_CLIENT_DELAY:
            raise Refusal(422, "invalid_request", f"occurred_at: must be within the last 30 days (got {_iso(occurred_at)})")
        return _ch_time(occurred_at)

    def take_visitor(self, visitor_id: str) -> None:
        wait = self.ingest.limits.take_visitor(self.project_id, visitor_id)
        if wait:
            raise _rate_limited(wait, "visitor")


async def _caller(request: Request) -> Caller:
    ingest = _ingest_of(request.app)
    headers = request.headers
    try:
        access = await ingest.project_for_key(headers.get(KEY_HEADER), request.query_params.get("key") if request.scope["query_string"] else None)
    except ApiError as refused:  # 401 from the key check: rendered like every other refusal
        raise Refusal(refused.status, refused.code, refused.message, refused.headers) from None
    origin = headers.get("origin")
    if origin is not None and not origin_allowed(origin, access.allowed_origins):
        raise Refusal(
            403, "origin_not_allowed",
            f"origin {origin} is not allowed for project {access.project_id!r}; "
            f"allowed origins: {', '.join(access.allowed_origins)}",
        )  # fmt: skip
    user_agent = headers.get("user-agent", "")
    return Caller(
        ingest=ingest,
        project_id=access.project_id,
        ip=request.client.host if request.client else "",
        user_agent=user_agent,
        is_bot=is_bot(user_agent),
        received_ms=int(ingest.clock() * 1000),
    )


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refusal(413, "body_too_large", f"request body is {declared} bytes; the limit is {limit} bytes")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refusal(413, "body_too_large", f"request body is over the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refusal(400, "client_disconnected", "the client went away before sending the whole body") from None
    return b"".join(chunks)


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise Refusal(422, "invalid_request", "request: body is required (a JSON object)")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refusal(422, "invalid_request", f"request: is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise Refusal(422, "invalid_request", f"request: must be a JSON object, not {type(data).__name__}")
    return data


def _parse(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


# --- operations -------------------------------------------------------------------------------


@dataclass
class Prepared:
    """An operation ready to spool: its row (a JSON record of raw.feedback_events) and its answer."""

    status: int
    body: dict[str, Any]
    record: bytes


_NOT_FINGERPRINTED = ("op", "signal_id", "idempotency_key")


def _fingerprint(kind: str, signal_id: str, data: dict[str, Any]) -> str:
    """What a retry must repeat: the operation as sent (the same in a batch or on its own)."""
    fields = {name: value for name, value in data.items() if name not in _NOT_FINGERPRINTED and value is not None}
    canonical = orjson.dumps([kind, signal_id, fields], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:32]


def _record(caller: Caller, key: str, fingerprint: str, status: int, body: dict[str, Any], **row: Any) -> Prepared:
    event = {
        "event_id": _uuid5(_EVENT_NAMESPACE, f"{caller.project_id}\x00{key}"),
        "idempotency_key": key,
        "project_id": caller.project_id,
        "value": None,
        "rating_scale": 0,
        "reaction": "",
        "message": "",
        "tags": [],
        "contact_email": "",
        "form_fields": {},
        "is_bot": caller.is_bot,
        "received_at": caller.received_text,
        **row,
        "_fp": fingerprint,
        "_status": status,
        "_body": body,
    }
    return Prepared(status, body, orjson.dumps(event))


def _normalized(rules: ContentSetRules, fields: SignalValue) -> dict[str, Any]:
    value = fields.value
    plain = (
        rules.signal_type is not SignalType.message
        and fields.message is None and fields.tags is None and fields.contact_email is None and fields.form_fields is None
        and (value is None or isinstance(value, (bool, int, float, str)))
    )  # fmt: skip
    try:
        if plain:  # votes, ratings, likes and reactions have few distinct values: normalize each once
            return _normalized_value(rules, value)
        signal = normalize_signal(
            rules, value, message=fields.message, tags=fields.tags,
            contact_email=fields.contact_email, form_fields=fields.form_fields,
        )  # fmt: skip
    except SignalValueError as exc:
        raise _invalid(exc) from None
    return _columns(signal)


_plain_values: dict[tuple[int, type, Any], tuple[ContentSetRules, dict[str, Any]]] = {}


def _normalized_value(rules: ContentSetRules, value: bool | int | float | str | None) -> dict[str, Any]:
    # Keyed by the rules object's id (hashing rules is slower than normalizing); the entry keeps the
    # object alive and is checked with ``is``, so a recycled id can never match.
    key = (id(rules), type(value), value)
    entry = _plain_values.get(key)
    if entry is None or entry[0] is not rules:
        if len(_plain_values) >= 4096:
            _plain_values.clear()
        entry = _plain_values[key] = (rules, _columns(normalize_signal(rules, value)))
    return entry[1]


def _columns(signal: NormalizedSignal) -> dict[str, Any]:
    return {
        "signal_type": signal.signal_type.value,
        "value": signal.value,
        "rating_scale": signal.rating_scale,
        "reaction": signal.reaction,
        "message": signal.message,
        "tags": list(signal.tags),
        "contact_email": signal.contact_email,
        "form_fields": signal.form_fields,
    }


async def prepare(caller: Caller, kind: str, key: str, fingerprint: str, signal_id: str, request: Any) -> Prepared:
    """Check one operation and build its event; raises Refusal. Suspends only to load uncached rules."""
    if kind == "revoke":
        return prepare_revoke(caller, key, fingerprint, signal_id, request)
    grant = _grant(caller, signal_id, request.edit_token) if kind == "edit" else None
    set_key = grant.content_set if grant else request.content_set
    rules = caller.ingest.cached_rules(caller.project_id, set_key) or await caller.ingest.rules(caller.project_id, set_key)
    if grant is None:
        return prepare_create(caller, key, fingerprint, request, rules)
    return prepare_edit(caller, key, fingerprint, signal_id, request, grant, rules)


def prepare_create(caller: Caller, key: str, fingerprint: str, request: CreateSignal, rules: ContentSetRules) -> Prepared:
    values = _normalized(rules, request)
    occurred_at = caller.occurred(request.occurred_at)
    visitor_id = caller.visitor(request.anonymous_id)
    caller.take_visitor(visitor_id)
    signal_id = _uuid5(_SIGNAL_NAMESPACE, f"{caller.project_id}\x00{key}")
    until_ms = caller.received_ms + rules.edit_window_seconds * 1000
    token = None
    if not rules.final_at_once:
        token = caller.ingest.tokens.issue(
            EditGrant(caller.project_id, signal_id, visitor_id, rules.key, request.content_key, rules.signal_type.value, until_ms)
        )
    body = {"signal_id": signal_id, "edit_token": token, "editable_until": _iso_ms(until_ms)}
    return _record(
        caller, key, fingerprint, 201, body,
        content_set=rules.key, content_key=request.content_key, signal_id=signal_id,
        operation=_CREATE, visitor_id=visitor_id, occurred_at=occurred_at, **values,
    )  # fmt: skip


def _grant(caller: Caller, signal_id: str, token: str) -> EditGrant:
    try:
        grant = caller.ingest.tokens.verify(token, caller.project_id, signal_id)
    except EditTokenError as exc:
        raise Refusal(403, "invalid_edit_token", f"edit_token: {exc}") from None
    if caller.received_ms > grant.editable_until_ms:
        closed_at = _iso_ms(grant.editable_until_ms)
        raise Refusal(
            409, "signal_final",
            f"signal {signal_id} can no longer be edited or revoked: its edit window closed at {closed_at}",
            closed_at=closed_at,
        )  # fmt: skip
    return grant


def prepare_edit(caller: Caller, key: str, fingerprint: str, signal_id: str, request: EditSignal,
                 grant: EditGrant, rules: ContentSetRules) -> Prepared:  # fmt: skip
    if rules.signal_type.value != grant.signal_type:
        raise Refusal(
            409, "content_set_changed",
            f'content set "{rules.key}" now collects {rules.signal_type} signals; '
            f"this {grant.signal_type} signal cannot be edited",
        )  # fmt: skip
    values = _normalized(rules, request)
    occurred_at = caller.occurred(request.occurred_at)
    caller.take_visitor(grant.visitor_id)
    body = {"signal_id": signal_id, "editable_until": _iso_ms(grant.editable_until_ms)}
    return _record(
        caller, key, fingerprint, 200, body,
        content_set=grant.content_set, content_key=grant.content_key, signal_id=signal_id,
        operation=_EDIT, visitor_id=grant.visitor_id, occurred_at=occurred_at, **values,
    )  # fmt: skip


def prepare_revoke(caller: Caller, key: str, fingerprint: str, signal_id: str, request: RevokeSignal) -> Prepared:
    grant = _grant(caller, signal_id, request.edit_token)
    occurred_at = caller.occurred(request.occurred_at)
    caller.take_visitor(grant.visitor_id)
    body = {"signal_id": signal_id, "revoked": True}
    return _record(
        caller, key, fingerprint, 200, body,
        content_set=grant.content_set, content_key=grant.content_key, signal_id=signal_id,
        operation=_REVOKE, signal_type=grant.signal_type, visitor_id=grant.visitor_id,
        occurred_at=occurred_at,
    )  # fmt: skip


def _check_same_request(answer: Answer, fingerprint: str, key: str) -> Answer:
    if answer.fingerprint != fingerprint:
        raise Refusal(
            409, "idempotency_key_reused",
            f"idempotency_key {key!r} was already used for a different request; use a new key per operation",
        )  # fmt: skip
    return answer


async def _earlier_answer(recent: RecentOperations, project_id: str, key: str, fingerprint: str) -> Answer | None:
    """The answer already given for this key (waiting for an attempt still being written), if any."""
    while True:  # callers skip this coroutine when recent.seen() says there is nothing to find
        answer = recent.get(project_id, key)
        if answer is not None:
            return _check_same_request(answer, fingerprint, key)
        pending = recent.wait_for(project_id, key)
        if pending is None:
            return None
        answer = await pending
        if answer is not None:
            return _check_same_request(answer, fingerprint, key)


def _spool_refusal(exc: Exception) -> Refusal:
    if isinstance(exc, SpoolFull):
        after = retry_after_header(exc.retry_after)
        return Refusal(503, "ingest_backlog_full", f"{exc}; retry after {after} s", headers={"Retry-After": after})
    return Refusal(503, "ingest_unavailable", "the signal could not be stored; retry later", headers={"Retry-After": "5"})


# --- routes -----------------------------------------------------------------------------------

router = APIRouter(prefix="/v1", tags=["signals"], lifespan=ingest_lifespan)

def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _refused(refusal: Refusal) -> Response:
    return _json(refusal.status, refusal.body, refusal.headers)


def _signal_id(request: Request) -> str:
    given = request.path_params["signal_id"]
    try:
        return str(uuid.UUID(given))
    except ValueError:
        problem = f"signal_id: must be a UUID like the signal_id returned by create (got {given[:60]!r})"
        raise Refusal(422, "invalid_request", problem) from None


def _idempotency_header(request: Request) -> str | None:
    value = request.headers.get(IDEMPOTENCY_HEADER)
    if value is not None and not IDEMPOTENCY_KEY.fullmatch(value):
        raise Refusal(422, "invalid_request", f"{IDEMPOTENCY_HEADER}: must be 1 to 128 printable ASCII characters without spaces")
    return value


async def _single(request: Request, body_model: type[BaseModel], kind: str, signal_id: str = "",
                  data: dict[str, Any] | None = None) -> Response:  # fmt: skip
    """The path every single-operation route takes: auth, parse, replay, limits, spool, answer."""
    caller = await _caller(request)
    if data is None:
        data = _json_object(await _read_body(request, caller.ingest.settings.ingest_max_body_bytes))
    parsed = _parse(body_model, data)
    wait = caller.ingest.limits.take_project(caller.project_id)
    if wait:
        raise _rate_limited(wait, "project")
    key = parsed.idempotency_key or _idempotency_header(request) or uuid.uuid4().hex
    fingerprint = _fingerprint(kind, signal_id, data)
    recent = caller.ingest.recent
    if recent.seen(caller.project_id, key):
        earlier = await _earlier_answer(recent, caller.project_id, key, fingerprint)
        if earlier is not None:
            return _json(earlier.status, earlier.body, {REPLAYED_HEADER: "true"})
    recent.begin(caller.project_id, key)
    answer = None
    try:
        if kind == "create" and (rules := caller.ingest.cached_rules(caller.project_id, parsed.content_set)):
            prepared = prepare_create(caller, key, fingerprint, parsed, rules)  # the common case, without a coroutine
        else:
            prepared = await prepare(caller, kind, key, fingerprint, signal_id, parsed)
        try:
            await caller.ingest.spool.append([prepared.record])
        except (SpoolFull, OSError) as exc:
            raise _spool_refusal(exc) from None
        answer = Answer(prepared.status, prepared.body, fingerprint)
    finally:
        recent.finish(caller.project_id, key, answer)
    return _json(prepared.status, prepared.body)


@router.post(
    "/signals",
    status_code=201,
    summary="Create a signal",
    response_model=CreatedSignal,
    responses=error_responses(401, 403, 404, 409, 413, 422, 429, 503),
    openapi_extra=documented(
        "key", KEY_HEADER, IDEMPOTENCY_HEADER,
        body=body_schema(CreateSignal, "A vote, rating, like, reaction or feedback message about one piece of content"),
    ),  # fmt: skip
)
async def create_signal(request: Request) -> Response:
    try:
        return await _single(request, CreateSignal, "create")
    except Refusal as refusal:
        return _refused(refusal)


@router.patch(
    "/signals/{signal_id}",
    summary="Edit a signal within its edit window",
    response_model=EditedSignal,
    responses=error_responses(401, 403, 404, 409, 413, 422, 429, 503),
    openapi_extra=documented(
        "signal_id", "key", KEY_HEADER, IDEMPOTENCY_HEADER,
        body=body_schema(EditSignal, "The signal's new value (the whole value, under the same rules as create)"),
    ),  # fmt: skip
)
async def edit_signal(request: Request) -> Response:
    try:
        return await _single(request, EditSignal, "edit", _signal_id(request))
    except Refusal as refusal:
        return _refused(refusal)


@router.delete(
    "/signals/{signal_id}",
    summary="Revoke a signal within its edit window",
    response_model=RevokedSignal,
    responses=error_responses(401, 403, 409, 422, 429, 503),
    openapi_extra=documented("signal_id", "key", KEY_HEADER, IDEMPOTENCY_HEADER, EDIT_TOKEN_HEADER, "occurred_at"),
)
async def revoke_signal(request: Request) -> Response:
    try:
        signal_id = _signal_id(request)
        edit_token = request.headers.get(EDIT_TOKEN_HEADER)
        if edit_token is None:
            raise Refusal(422, "invalid_request", f"{EDIT_TOKEN_HEADER}: is required (the edit_token returned by create)")
        data = {"edit_token": edit_token, "occurred_at": request.query_params.get("occurred_at")}
        return await _single(request, RevokeSignal, "revoke", signal_id, data)
    except Refusal as refusal:
        return _refused(refusal)


@router.post(
    "/batch",
    summary="Create, edit and revoke many signals at once",
    description=(
        f"Up to {MAX_BATCH_OPERATIONS} operations, each an object with `op` = `create` (fields of POST /v1/signals), "
        "`edit` (`signal_id` plus the fields of PATCH /v1/signals/{signal_id}) or `revoke` (`signal_id`, `edit_token`), "
        "and each with its own `idempotency_key`. Every operation gets its own status and body, so one bad "
        "operation does not fail the others; the stored ones are acknowledged together once durably spooled."
    ),
    response_model=BatchResult,
    responses=error_responses(401, 403, 413, 422, 429, 503),
    openapi_extra=documented("key", KEY_HEADER, body=body_schema(BatchRequest, "The operations, in order")),
)
async def batch(request: Request) -> Response:
    try:
        caller = await _caller(request)
        body = await _read_body(request, caller.ingest.settings.ingest_max_body_bytes)
        envelope: BatchRequest = _parse(BatchRequest, _json_object(body))
        wait = caller.ingest.limits.take_project(caller.project_id, len(envelope.operations))
        if wait:
            raise _rate_limited(wait, "project")
        results = await _run_batch(caller, envelope.operations)
    except Refusal as refusal:
        return _refused(refusal)
    return _json(200, {"results": results})


def _parse_operation(raw: dict[str, Any]) -> CreateOperation | EditOperation | RevokeOperation:
    try:
        return operation_adapter.validate_python(raw)
    except ValidationError as exc:
        if exc.errors()[0]["type"] in ("union_tag_invalid", "union_tag_not_found"):
            got = f" (got {raw['op']!r})" if "op" in raw else ""
            raise Refusal(422, "invalid_request", f"op: must be one of create, edit, revoke{got}") from None
        # Drop the union's tag ("create", ...) from each location: the field is what the reader needs.
        errors = [{**error, "loc": tuple(error["loc"][1:])} for error in exc.errors()]
        raise Refusal(422, "invalid_request", validation_message(errors)) from None


async def _run_batch(caller: Caller, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ingest = caller.ingest
    recent = ingest.recent
    results: list[dict[str, Any] | None] = [None] * len(operations)
    begun: dict[str, tuple[int, str]] = {}  # key -> (index of its first operation in this batch, fingerprint)
    copies: list[tuple[int, int]] = []  # (index, index of the operation it repeats)
    prepared: list[tuple[int, str, Prepared]] = []
    for index, raw in enumerate(operations):
        try:
            operation = _parse_operation(raw)
            signal_id = "" if operation.op == "create" else str(operation.signal_id)
            key = operation.idempotency_key or uuid.uuid4().hex
            fingerprint = _fingerprint(operation.op, signal_id, raw)
            if key in begun:
                first, first_fingerprint = begun[key]
                if first_fingerprint != fingerprint:
                    raise Refusal(
                        409, "idempotency_key_reused",
                        f"idempotency_key {key!r} is used by operation {first} of this batch for a different request",
                    )  # fmt: skip
                copies.append((index, first))
                continue
            if recent.seen(caller.project_id, key):
                earlier = await _earlier_answer(recent, caller.project_id, key, fingerprint)
                if earlier is not None:
                    results[index] = {"status": earlier.status, "body": earlier.body}
                    continue
            if operation.op == "create" and (rules := ingest.cached_rules(caller.project_id, operation.content_set)):
                ready = prepare_create(caller, key, fingerprint, operation, rules)  # the common case, without a coroutine
            else:
                ready = await prepare(caller, operation.op, key, fingerprint, signal_id, operation)
        except Refusal as refusal:
            results[index] = {"status": refusal.status, "body": refusal.body}
            continue
        begun[key] = (index, fingerprint)
        recent.begin(caller.project_id, key)
        prepared.append((index, key, ready))

    stored = False
    try:
        if prepared:
            await caller.ingest.spool.append([ready.record for _, _, ready in prepared])
        stored = True
    except (SpoolFull, OSError) as exc:
        raise _spool_refusal(exc) from None
    finally:
        for index, key, ready in prepared:
            answer = Answer(ready.status, ready.body, begun[key][1]) if stored else None
            recent.finish(caller.project_id, key, answer)
            results[index] = {"status": ready.status, "body": ready.body}
    for index, first in copies:
        results[index] = results[first]
    return results  # type: ignore[return-value]


# --- fast path --------------------------------------------------------------------------------


class IngestFastPath:
    """Serves ``POST /v1/signals`` and ``POST /v1/batch`` straight from ASGI, before routing.

    The routes above stay registered (OpenAPI, and the path any other request takes); this only
    skips the router and FastAPI's per-route machinery, which cost more than the operation itself.
    The handlers read everything from the request and answer every refusal themselves, so the
    result is the same either way. Installed inside the CORS middleware by ``create_app``.
    """

    def __init__(self, app: Any):
        self.app = app
        self.handlers = {"/v1/signals": create_signal, "/v1/batch": batch}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            handler = self.handlers.get(scope["path"])
            if handler is not None:
                response = await handler(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
