"""One operation checked and turned into what is stored: its row of ``raw.feedback_events`` (a JSON
record for the spool) and its answer. Raises ``Refusal``; never writes."""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import orjson

from feelback.domain import ContentSetRules, NormalizedSignal, Operation, SignalType, SignalValueError, normalize_signal
from ingest_api.ingest.caller import Caller, iso_ms, uuid5
from ingest_api.ingest.refusals import Refusal, invalid
from ingest_api.privacy import EditGrant, EditTokenError
from ingest_api.signal_schemas import CreateSignal, EditSignal, RevokeSignal, SignalValue

CREATE, EDIT, REVOKE = Operation.create.value, Operation.edit.value, Operation.revoke.value

class Prepared(NamedTuple):
    """An operation ready to spool: its row (a JSON record of raw.feedback_events) and its answer."""

    status: int
    body: bytes  # the answer's JSON, encoded once for the response, the spool notes and the replay map
    record: bytes
    revoked_until_ms: int = 0  # a revoke: the end of its signal's edit window (it stays revoked until then)


_NOT_FINGERPRINTED = frozenset({"op", "signal_id", "idempotency_key"})


def fingerprint_of(kind: str, signal_id: str, data: dict[str, Any]) -> str:
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
        raise invalid(exc) from None
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
    grant = grant_of(caller, signal_id, request.edit_token) if kind == "edit" else None
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
        raise invalid(exc) from None
    return _created(caller, key, rules, values, data["content_key"], data.get("anonymous_id"), caller.received_text)


def _created(caller: Caller, key: str, rules: ContentSetRules, values: dict[str, Any],
             content_key: str, anonymous_id: str | None, occurred_at: str) -> Prepared:  # fmt: skip
    project_id = caller.project_id
    visitor_id = anonymous_id or caller.hashed_visitor
    caller.take_visitor()
    signal_id = uuid5(caller.signal_prefix, key)
    window_ms = rules.edit_window_seconds * 1000
    until_ms = caller.received_ms + window_ms
    signal_type = values["signal_type"]
    token = None
    if window_ms:  # not final at once
        token = caller.ingest.tokens.issue_for(project_id, signal_id, visitor_id, rules.key, content_key, signal_type, until_ms)
    body = {"signal_id": signal_id, "edit_token": token, "editable_until": iso_ms(until_ms)}
    # The row as _record builds it, spelled out: this runs for every create. A create's event is
    # named by the signal it creates (ids of edits and revokes come from another namespace).
    event = {
        "event_id": signal_id, "idempotency_key": key, "project_id": project_id,
        "content_set": rules.key, "content_key": content_key, "signal_id": signal_id, "operation": CREATE,
        **values,
        "visitor_id": visitor_id, "is_bot": caller.is_bot, "occurred_at": occurred_at, "received_at": caller.received_text,
    }  # fmt: skip
    return Prepared(201, orjson.dumps(body), orjson.dumps(event))


def grant_of(caller: Caller, signal_id: str, token: str) -> EditGrant:
    try:
        grant = caller.ingest.tokens.verify(token, caller.project_id, signal_id)
    except EditTokenError as exc:
        raise Refusal(403, "invalid_edit_token", f"edit_token: {exc}") from None
    if caller.received_ms > grant.editable_until_ms:
        closed_at = iso_ms(grant.editable_until_ms)
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
    caller.take_visitor()
    body = {"signal_id": signal_id, "editable_until": iso_ms(grant.editable_until_ms)}
    return _record(
        caller, key, 200, body,
        content_set=grant.content_set, content_key=grant.content_key, signal_id=signal_id,
        operation=EDIT, visitor_id=grant.visitor_id, occurred_at=occurred_at, **values,
    )  # fmt: skip


def prepare_revoke(caller: Caller, key: str, signal_id: str, request: RevokeSignal) -> Prepared:
    grant = grant_of(caller, signal_id, request.edit_token)
    occurred_at = caller.occurred(request.occurred_at)
    caller.take_visitor()
    body = {"signal_id": signal_id, "revoked": True}
    prepared = _record(
        caller, key, 200, body,
        content_set=grant.content_set, content_key=grant.content_key, signal_id=signal_id,
        operation=REVOKE, signal_type=grant.signal_type, visitor_id=grant.visitor_id,
        occurred_at=occurred_at,
    )  # fmt: skip
    return prepared._replace(revoked_until_ms=grant.editable_until_ms)

