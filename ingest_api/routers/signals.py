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

import datetime as dt
import hashlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from typing import Any, NamedTuple

import orjson
import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from feelback.domain import (
    CONTENT_SET_KEY_PATTERN,
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
from ingest_api.cache import LoadingCache
from ingest_api.dependencies import KEY_HEADER, load_rules_or_refusal, require_public_key
from ingest_api.errors import ApiError, validation_message
from ingest_api.privacy import DailySalts, EditGrant, EditTokenError, EditTokens, load_or_create_secret, visitor_hash
from ingest_api.ratelimit import IngestLimits, retry_after_header
from ingest_api.signal_schemas import (
    ANONYMOUS_ID_PATTERN,
    EDIT_TOKEN_HEADER,
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_KEY,
    MAX_BATCH_OPERATIONS,
    MAX_CONTENT_KEY_LENGTH,
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
from ingest_api.spool_replay import Answer, RecentOperations, replay_notes
from ingest_api.writer import Drainer

log = structlog.get_logger(__name__)

CACHE_SECONDS = 5.0
MAX_FUTURE_SKEW = dt.timedelta(minutes=5)
MAX_CLIENT_DELAY = dt.timedelta(days=30)
REPLAYED_HEADER = "Idempotent-Replayed"
_SIGNAL_NAMESPACE = uuid.UUID("6f1c3c52-4d8e-4a53-9d0c-4f2b7e1f0a11")
_EVENT_NAMESPACE = uuid.UUID("0b6e2d8a-7c1f-4e55-8a3b-2f9d6c4e8b21")
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
        self._keys = LoadingCache(CACHE_SECONDS, expected=(ApiError,))  # a refused key: an answer, not a warning
        self._sets = LoadingCache(CACHE_SECONDS)

    def start(self) -> None:
        self.spool.open()
        remembered = self.recent.rebuild(self.spool.recent_appends())
        if remembered:
            log.info("ingest_idempotency_keys_recovered", keys=remembered)
        self.drainer.start()

    async def stop(self) -> None:
        await self.spool.flush()
        await run_in_threadpool(self.drainer.stop)
        self.spool.close()

    def cached_project(self, header_key: str | None) -> ProjectAccess | None:
        """The project of a header key when cached, without suspending."""
        return self._keys.peek((header_key, None))

    async def project_for_key(self, header_key: str | None, query_key: str | None) -> ProjectAccess:
        return await self._keys.get((header_key, query_key), partial(self._load_project, header_key, query_key))

    def _load_project(self, header_key: str | None, query_key: str | None) -> ProjectAccess:
        with self.sessionmaker() as session:
            auth = require_public_key(session, header_key=header_key, query_key=query_key)
            return ProjectAccess(auth.project_id, tuple(auth.project.allowed_origins or ()))

    def cached_rules(self, project_id: str, set_key: str) -> ContentSetRules | None:
        """The content set's rules when cached and valid, without suspending."""
        rules = self._sets.peek((project_id, set_key))
        return rules if isinstance(rules, ContentSetRules) else None

    async def rules(self, project_id: str, set_key: str) -> ContentSetRules:
        rules = await self._sets.get((project_id, set_key), partial(self._load_rules, project_id, set_key))
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


_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _uuid5(prefix: bytes, name: str) -> str:
    """``str(uuid.uuid5(namespace, prefix_name + name))`` for ``prefix = namespace.bytes + prefix_name``
    (UTF-8), without building UUID objects (it runs per operation): the SHA-1 hex digest with its
    version digit set to 5 and its variant digit to 8..b."""
    text = hashlib.sha1(prefix + name.encode("utf-8")).hexdigest()
    return f"{text[:8]}-{text[8:12]}-5{text[13:16]}-{_VARIANT_DIGIT[text[16]]}{text[17:20]}-{text[20:32]}"


@dataclass
class Caller:
    """Who is calling and when: the same for every operation of one request."""

    ingest: SignalIngest
    project_id: str
    ip: str
    user_agent: str
    is_bot: bool
    received_ms: int

    received_text: str = field(init=False)
    _signal_prefix: bytes = field(init=False, repr=False)
    _event_prefix: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.received_text = _ch_time_ms(self.received_ms)
        # A create's signal id is uuid5(project, key), and so is its event id; an edit's or revoke's
        # event id is uuid5(project, key) in another namespace. The same on every replica, so a
        # retry anywhere names the same signal.
        project = self.project_id.encode("utf-8") + b"\x00"
        self._signal_prefix, self._event_prefix = _SIGNAL_NAMESPACE.bytes + project, _EVENT_NAMESPACE.bytes + project

    def event_id(self, key: str) -> str:
        return _uuid5(self._event_prefix, key)

    @cached_property
    def received_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.received_ms / 1000, dt.UTC)

    @cached_property
    def hashed_visitor(self) -> str:
        """The visitor id of an operation without ``anonymous_id``: the same for a whole batch."""
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
    client = request.scope.get("client")
    return _caller_of(ingest, access, headers.get("origin"), headers.get("user-agent", ""), client[0] if client else "")


def _caller_of(ingest: SignalIngest, access: ProjectAccess, origin: str | None, user_agent: str, ip: str) -> Caller:
    """The caller of a request whose key is ``access``; 403 when its origin is not allowed."""
    if origin is not None and not origin_allowed(origin, access.allowed_origins):
        raise Refusal(
            403, "origin_not_allowed",
            f"origin {origin} is not allowed for project {access.project_id!r}; "
            f"allowed origins: {', '.join(access.allowed_origins)}",
        )  # fmt: skip
    return Caller(
        ingest=ingest,
        project_id=access.project_id,
        ip=ip,
        user_agent=user_agent,
        is_bot=is_bot(user_agent),
        received_ms=int(ingest.clock() * 1000),
    )


async def _read_body(request: Request, limit: int) -> bytes:
    return await _receive_body(request.receive, request.headers.get("content-length"), limit)


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


# The common create (a vote, rating, like or reaction: content set, content key, a plain value,
# maybe an anonymous id and an idempotency key) is checked by hand below, without building a model.
# Anything else, valid or not, takes the pydantic model, so every refusal still comes from one place.
PLAIN_CREATE_FIELDS = frozenset({"content_set", "content_key", "value", "anonymous_id", "idempotency_key"})
PLAIN_OPERATION_FIELDS = PLAIN_CREATE_FIELDS | {"op"}
_PLAIN_VALUE_TYPES = frozenset({type(None), bool, int, float, str})
_CONTENT_SET_KEY = re.compile(CONTENT_SET_KEY_PATTERN)
_ANONYMOUS_ID = re.compile(ANONYMOUS_ID_PATTERN)


def plain_create_rules(ingest: SignalIngest, project_id: str, data: dict[str, Any],
                       fields: frozenset[str] = PLAIN_CREATE_FIELDS,
                       known_sets: dict[str, ContentSetRules] | None = None) -> ContentSetRules | None:  # fmt: skip
    """The cached rules of the content set when ``data`` is a plain create that surely passes the
    create model (only ``fields``, each within its rules) for a set that is not a message set;
    None for anything else, which then takes the model. ``known_sets`` keeps the rules found per
    content set for the rest of a batch."""
    if not fields.issuperset(data):
        return None
    content_set, content_key = data.get("content_set"), data.get("content_key")
    if type(content_set) is not str or type(content_key) is not str or not 0 < len(content_key) <= MAX_CONTENT_KEY_LENGTH:
        return None
    if type(data.get("value")) not in _PLAIN_VALUE_TYPES:
        return None
    anonymous_id = data.get("anonymous_id")
    if anonymous_id is not None and (type(anonymous_id) is not str or not _ANONYMOUS_ID.fullmatch(anonymous_id)):
        return None
    key = data.get("idempotency_key")
    if key is not None and (type(key) is not str or not IDEMPOTENCY_KEY.fullmatch(key)):
        return None
    if known_sets is not None and (rules := known_sets.get(content_set)) is not None:
        return rules
    if not _CONTENT_SET_KEY.fullmatch(content_set):
        return None
    rules = ingest.cached_rules(project_id, content_set)
    if rules is None or rules.signal_type is SignalType.message:
        return None
    if known_sets is not None:
        known_sets[content_set] = rules
    return rules


# --- operations -------------------------------------------------------------------------------


class Prepared(NamedTuple):
    """An operation ready to spool: its row (a JSON record of raw.feedback_events) and its answer."""

    status: int
    body: bytes  # the answer's JSON, encoded once for the response, the spool notes and the replay map
    record: bytes


_NOT_FINGERPRINTED = frozenset({"op", "signal_id", "idempotency_key"})


def _fingerprint(kind: str, signal_id: str, data: dict[str, Any]) -> str:
    """What a retry must repeat: the operation as sent (the same in a batch or on its own)."""
    fields = {name: value for name, value in data.items() if name not in _NOT_FINGERPRINTED and value is not None}
    canonical = orjson.dumps([kind, signal_id, fields], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:32]


def _record(caller: Caller, key: str, status: int, body: dict[str, Any], **row: Any) -> Prepared:
    event = {
        "event_id": caller.event_id(key),
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
    }
    return Prepared(status, orjson.dumps(body), orjson.dumps(event))


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


async def prepare(caller: Caller, kind: str, key: str, signal_id: str, request: Any) -> Prepared:
    """Check one operation and build its event; raises Refusal. Suspends only to load uncached rules."""
    if kind == "revoke":
        return prepare_revoke(caller, key, signal_id, request)
    grant = _grant(caller, signal_id, request.edit_token) if kind == "edit" else None
    set_key = grant.content_set if grant else request.content_set
    rules = caller.ingest.cached_rules(caller.project_id, set_key) or await caller.ingest.rules(caller.project_id, set_key)
    if grant is None:
        return prepare_create(caller, key, request, rules)
    return prepare_edit(caller, key, signal_id, request, grant, rules)


def prepare_create(caller: Caller, key: str, request: CreateSignal, rules: ContentSetRules) -> Prepared:
    values = _normalized(rules, request)
    occurred_at = caller.occurred(request.occurred_at)
    return _created(caller, key, rules, values, request.content_key, request.anonymous_id, occurred_at)


def prepare_plain_create(caller: Caller, key: str, data: dict[str, Any], rules: ContentSetRules) -> Prepared:
    """``prepare_create`` for a create that ``plain_create_rules`` accepted, read from the body as sent."""
    try:
        values = _normalized_value(rules, data.get("value"))
    except SignalValueError as exc:
        raise _invalid(exc) from None
    return _created(caller, key, rules, values, data["content_key"], data.get("anonymous_id"), caller.received_text)


def _created(caller: Caller, key: str, rules: ContentSetRules, values: dict[str, Any],
             content_key: str, anonymous_id: str | None, occurred_at: str) -> Prepared:  # fmt: skip
    project_id = caller.project_id
    visitor_id = anonymous_id or caller.hashed_visitor
    wait = caller.ingest.limits.take_visitor(project_id, visitor_id)
    if wait:
        raise _rate_limited(wait, "visitor")
    signal_id = _uuid5(caller._signal_prefix, key)
    window_ms = rules.edit_window_seconds * 1000
    until_ms = caller.received_ms + window_ms
    signal_type = values["signal_type"]
    token = None
    if window_ms:  # not final at once
        token = caller.ingest.tokens.issue_for(project_id, signal_id, visitor_id, rules.key, content_key, signal_type, until_ms)
    body = {"signal_id": signal_id, "edit_token": token, "editable_until": _iso_ms(until_ms)}
    # The row as _record builds it, spelled out: this runs for every create. A create's event is
    # named by the signal it creates (ids of edits and revokes come from another namespace).
    event = {
        "event_id": signal_id, "idempotency_key": key, "project_id": project_id,
        "content_set": rules.key, "content_key": content_key, "signal_id": signal_id, "operation": _CREATE,
        **values,
        "visitor_id": visitor_id, "is_bot": caller.is_bot, "occurred_at": occurred_at, "received_at": caller.received_text,
    }  # fmt: skip
    return Prepared(201, orjson.dumps(body), orjson.dumps(event))


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


def prepare_edit(caller: Caller, key: str, signal_id: str, request: EditSignal,
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
        caller, key, 200, body,
        content_set=grant.content_set, content_key=grant.content_key, signal_id=signal_id,
        operation=_EDIT, visitor_id=grant.visitor_id, occurred_at=occurred_at, **values,
    )  # fmt: skip


def prepare_revoke(caller: Caller, key: str, signal_id: str, request: RevokeSignal) -> Prepared:
    grant = _grant(caller, signal_id, request.edit_token)
    occurred_at = caller.occurred(request.occurred_at)
    caller.take_visitor(grant.visitor_id)
    body = {"signal_id": signal_id, "revoked": True}
    return _record(
        caller, key, 200, body,
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


def _checked_idempotency_header(value: str | None) -> str | None:
    if value is not None and not IDEMPOTENCY_KEY.fullmatch(value):
        raise Refusal(422, "invalid_request", f"{IDEMPOTENCY_HEADER}: must be 1 to 128 printable ASCII characters without spaces")
    return value


async def _single(request: Request, body_model: type[BaseModel], kind: str, signal_id: str = "",
                  data: dict[str, Any] | None = None, caller: Caller | None = None) -> Response:  # fmt: skip
    """The path every single-operation route takes: auth, parse, replay, limits, spool, answer."""
    caller = caller or await _caller(request)
    if data is None:
        data = _json_object(await _read_body(request, caller.ingest.settings.ingest_max_body_bytes))
    parsed = _parse(body_model, data)
    _take_project(caller)
    key = parsed.idempotency_key or _checked_idempotency_header(request.headers.get(IDEMPOTENCY_HEADER)) or uuid.uuid4().hex
    fingerprint = _fingerprint(kind, signal_id, data)

    def prepare_parsed() -> Prepared | Awaitable[Prepared]:
        if kind == "create" and (rules := caller.ingest.cached_rules(caller.project_id, parsed.content_set)):
            return prepare_create(caller, key, parsed, rules)  # the common case, without a coroutine
        return prepare(caller, kind, key, signal_id, parsed)

    status, body, headers = await _store_once(caller, key, fingerprint, prepare_parsed)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _take_project(caller: Caller, operations: int = 1) -> None:
    wait = caller.ingest.limits.take_project(caller.project_id, operations)
    if wait:
        raise _rate_limited(wait, "project")


_REPLAYED = {REPLAYED_HEADER: "true"}


async def _store_once(caller: Caller, key: str, fingerprint: str,
                      prepare_one: Callable[[], Prepared | Awaitable[Prepared]]) -> tuple[int, bytes, dict[str, str] | None]:  # fmt: skip
    """The earlier answer for ``key`` (with the replayed header), or ``prepare_one``'s operation
    spooled and remembered: (status, JSON body, extra headers)."""
    recent = caller.ingest.recent
    if recent.seen(caller.project_id, key):
        earlier = await _earlier_answer(recent, caller.project_id, key, fingerprint)
        if earlier is not None:
            return earlier.status, earlier.body, _REPLAYED
    recent.begin(caller.project_id, key)
    answer = None
    try:
        prepared = prepare_one()
        if not isinstance(prepared, Prepared):
            prepared = await prepared
        try:
            stored = Answer(prepared.status, prepared.body, fingerprint)
            await caller.ingest.spool.append([prepared.record], replay_notes(caller.project_id, [(key, stored)]))
        except (SpoolFull, OSError) as exc:
            raise _spool_refusal(exc) from None
        answer = stored
    finally:
        recent.finish(caller.project_id, key, answer)
    return prepared.status, prepared.body, None


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
        operations = _batch_operations(_json_object(body))
        _take_project(caller, len(operations))
        results = await _run_batch(caller, operations)
    except Refusal as refusal:
        return _refused(refusal)
    return _json(200, {"results": results})


def _batch_operations(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations of a batch body: checked by hand when it surely passes ``BatchRequest``."""
    operations = data.get("operations")
    if len(data) == 1 and type(operations) is list and 0 < len(operations) <= MAX_BATCH_OPERATIONS \
            and all(type(operation) is dict for operation in operations):  # fmt: skip
        return operations
    return _parse(BatchRequest, data).operations


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
    project_id, recent = caller.project_id, ingest.recent
    results: list[dict[str, Any] | None] = [None] * len(operations)
    begun: dict[str, tuple[int, str]] = {}  # key -> (index of its first operation in this batch, fingerprint)
    copies: list[tuple[int, int]] = []  # (index, index of the operation it repeats)
    prepared: list[tuple[int, str, Answer, bytes]] = []  # (index, key, answer, row)
    known_sets: dict[str, ContentSetRules] = {}
    for index, raw in enumerate(operations):
        try:
            rules = plain_create_rules(ingest, project_id, raw, PLAIN_OPERATION_FIELDS, known_sets) if raw.get("op") == _CREATE else None
            if rules is not None:
                operation, kind, signal_id, key = None, _CREATE, "", raw.get("idempotency_key") or uuid.uuid4().hex
            else:
                operation = _parse_operation(raw)
                kind, signal_id = operation.op, "" if operation.op == "create" else str(operation.signal_id)
                key = operation.idempotency_key or uuid.uuid4().hex
            fingerprint = _fingerprint(kind, signal_id, raw)
            if key in begun:
                first, first_fingerprint = begun[key]
                if first_fingerprint != fingerprint:
                    raise Refusal(
                        409, "idempotency_key_reused",
                        f"idempotency_key {key!r} is used by operation {first} of this batch for a different request",
                    )  # fmt: skip
                copies.append((index, first))
                continue
            if recent.seen(project_id, key):
                earlier = await _earlier_answer(recent, project_id, key, fingerprint)
                if earlier is not None:
                    results[index] = {"status": earlier.status, "body": orjson.Fragment(earlier.body)}
                    continue
            if operation is None:
                ready = prepare_plain_create(caller, key, raw, rules)  # the common case, without a model
            elif kind == "create" and (rules := ingest.cached_rules(project_id, operation.content_set)):
                ready = prepare_create(caller, key, operation, rules)  # without a coroutine
            else:
                ready = await prepare(caller, kind, key, signal_id, operation)
        except Refusal as refusal:
            results[index] = {"status": refusal.status, "body": refusal.body}
            continue
        begun[key] = (index, fingerprint)
        recent.begin(project_id, key)
        prepared.append((index, key, Answer(ready.status, ready.body, fingerprint), ready.record))

    stored = False
    try:
        if prepared:
            answered = [(key, answer) for _, key, answer, _ in prepared]
            await ingest.spool.append([record for *_, record in prepared], replay_notes(project_id, answered))
        stored = True
    except (SpoolFull, OSError) as exc:
        raise _spool_refusal(exc) from None
    finally:
        for index, key, answer, _ in prepared:
            recent.finish(project_id, key, answer if stored else None)
            results[index] = {"status": answer.status, "body": orjson.Fragment(answer.body)}
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

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            path = scope["path"]
            if path == "/v1/signals":
                await create_signal_asgi(scope, receive, send)
                return
            if path == "/v1/batch":
                response = await batch(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# Header slots read by create_signal_asgi (ASGI gives names in lower case; the first one counts,
# as with Starlette's Headers.get).
_KEY, _ORIGIN, _USER_AGENT, _CONTENT_LENGTH, _IDEMPOTENCY = range(5)
_READ_HEADERS = {
    KEY_HEADER.lower().encode(): _KEY, b"origin": _ORIGIN, b"user-agent": _USER_AGENT,
    b"content-length": _CONTENT_LENGTH, IDEMPOTENCY_HEADER.lower().encode(): _IDEMPOTENCY,
}  # fmt: skip


def _latin1(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


async def create_signal_asgi(scope: Any, receive: Any, send: Any) -> None:
    """``POST /v1/signals`` as ``create_signal`` answers it, for a key already cached, without
    Request and Response objects; a plain create also skips the model (``plain_create_rules``).
    A key not cached yet or sent in the query takes the route itself."""
    ingest = _ingest_of(scope["app"])
    found: list[bytes | None] = [None] * 5
    for name, value in scope["headers"]:
        slot = _READ_HEADERS.get(name)
        if slot is not None and found[slot] is None:
            found[slot] = value
    access = None if scope["query_string"] else ingest.cached_project(_latin1(found[_KEY]))
    if access is None:
        response = await create_signal(Request(scope, receive, send))
        await response(scope, receive, send)
        return
    headers: dict[str, str] | None
    try:
        client = scope.get("client")
        caller = _caller_of(ingest, access, _latin1(found[_ORIGIN]), _latin1(found[_USER_AGENT]) or "", client[0] if client else "")
        body = await _receive_body(receive, _latin1(found[_CONTENT_LENGTH]), ingest.settings.ingest_max_body_bytes)
        data = _json_object(body)
        rules = plain_create_rules(ingest, caller.project_id, data)
        if rules is None:
            response = await _single(Request(scope, receive, send), CreateSignal, "create", data=data, caller=caller)
            await response(scope, receive, send)
            return
        _take_project(caller)
        key = data.get("idempotency_key") or _checked_idempotency_header(_latin1(found[_IDEMPOTENCY])) or uuid.uuid4().hex
        fingerprint = _fingerprint(_CREATE, "", data)
        status, answer, headers = await _store_once(
            caller, key, fingerprint, lambda: prepare_plain_create(caller, key, data, rules)
        )
    except Refusal as refusal:
        status, answer, headers = refusal.status, orjson.dumps(refusal.body), refusal.headers
    # The headers Starlette's Response(answer, status, headers, media_type="application/json") sends.
    raw_headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()] if headers else []
    raw_headers.append((b"content-length", str(len(answer)).encode("latin-1")))
    raw_headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": answer})


async def _receive_body(receive: Any, declared: str | None, limit: int) -> bytes:
    """The request body, refused with 413 over ``limit`` bytes (declared or received) and 400 when the
    client goes away first; read from the raw ASGI ``receive`` (the routes pass ``request.receive``)."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refusal(413, "body_too_large", f"request body is {declared} bytes; the limit is {limit} bytes")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise Refusal(413, "body_too_large", f"request body is over the limit of {limit} bytes")
                chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise Refusal(400, "client_disconnected", "the client went away before sending the whole body")
