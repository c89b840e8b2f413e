"""Who is calling and when (``Caller``): the same for every operation of one request; and the time
and id formats of the rows it writes."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from fastapi import Request

from feelback.domain import origin_allowed
from ingest_api.bots import is_bot
from ingest_api.dependencies import KEY_HEADER
from ingest_api.errors import ApiError
from ingest_api.ingest.refusals import Refusal, rate_limited
from ingest_api.ingest.state import ProjectAccess, SignalIngest, ingest_of
from ingest_api.privacy import visitor_hash
from ingest_api.ratelimit import network_of

MAX_FUTURE_SKEW = dt.timedelta(minutes=5)
MAX_CLIENT_DELAY = dt.timedelta(days=30)
SIGNAL_NAMESPACE = uuid.UUID("6f1c3c52-4d8e-4a53-9d0c-4f2b7e1f0a11")
EVENT_NAMESPACE = uuid.UUID("0b6e2d8a-7c1f-4e55-8a3b-2f9d6c4e8b21")


def ch_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


@lru_cache(maxsize=64)
def _ch_second(second: int) -> str:
    return dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.")


def ch_time_ms(ms: int) -> str:
    """An epoch-milliseconds time as ClickHouse's DateTime64(3) text (strftime once per second)."""
    return f"{_ch_second(ms // 1000)}{ms % 1000:03d}"


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@lru_cache(maxsize=1024)
def iso_ms(ms: int) -> str:
    return iso(dt.datetime.fromtimestamp(ms / 1000, dt.UTC))


_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def uuid5(prefix: bytes, name: str) -> str:
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
    signal_prefix: bytes = field(init=False, repr=False)
    event_prefix: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.received_text = ch_time_ms(self.received_ms)
        # A create's signal id is uuid5(project, key), and so is its event id; an edit's or revoke's
        # event id is uuid5(project, key) in another namespace. The same on every replica, so a
        # retry anywhere names the same signal.
        project = self.project_id.encode("utf-8") + b"\x00"
        self.signal_prefix, self.event_prefix = SIGNAL_NAMESPACE.bytes + project, EVENT_NAMESPACE.bytes + project

    def event_id(self, key: str) -> str:
        return uuid5(self.event_prefix, key)

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
                422, "invalid_request", f"occurred_at: must not be more than 5 minutes in the future (got {iso(occurred_at)})"
            )
        if occurred_at < self.received_at - MAX_CLIENT_DELAY:
            raise Refusal(422, "invalid_request", f"occurred_at: must be within the last 30 days (got {iso(occurred_at)})")
        return ch_time(occurred_at)

    @cached_property
    def network(self) -> str:
        return network_of(self.ip)

    def take_visitor(self) -> None:
        """The visitor limit, keyed on the caller's network address (the same for a whole batch)."""
        wait = self.ingest.limits.take_visitor(self.project_id, self.network)
        if wait:
            raise rate_limited(wait, "visitor")


async def caller_of_request(request: Request) -> Caller:
    ingest = ingest_of(request.app)
    headers = request.headers
    try:
        access = await ingest.project_for_key(headers.get(KEY_HEADER), request.query_params.get("key") if request.scope["query_string"] else None)
    except ApiError as refused:  # 401 from the key check: rendered like every other refusal
        raise Refusal(refused.status, refused.code, refused.message, refused.headers) from None
    client = request.scope.get("client")
    return caller_of(ingest, access, headers.get("origin"), headers.get("user-agent", ""), client[0] if client else "")


def caller_of(ingest: SignalIngest, access: ProjectAccess, origin: str | None, user_agent: str, ip: str) -> Caller:
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
