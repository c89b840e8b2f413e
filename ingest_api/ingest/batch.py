"""``POST /v1/batch``: many operations in one request, each with its own status and body; the
stored ones are spooled together, in one append."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any, NamedTuple

import orjson
from pydantic import ValidationError

from feelback.domain import ContentSetRules
from ingest_api.errors import validation_message
from ingest_api.ingest.bodies import parse
from ingest_api.ingest.caller import Caller
from ingest_api.idempotency import Settle
from ingest_api.ingest.once import claimed, earlier, operations_of, spool_stored
from ingest_api.ingest.operations import CREATE, Prepared, fingerprint_of, prepare, prepare_create, prepare_plain_create
from ingest_api.ingest.plain import PLAIN_OPERATION_FIELDS, plain_create_rules
from ingest_api.ingest.refusals import Refusal
from ingest_api.signal_schemas import MAX_BATCH_OPERATIONS, BatchRequest, CreateOperation, EditOperation, RevokeOperation, operation_adapter
from ingest_api.spool_replay import Answer

def batch_operations(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations of a batch body: checked by hand when it surely passes ``BatchRequest``."""
    operations = data.get("operations")
    if len(data) == 1 and type(operations) is list and 0 < len(operations) <= MAX_BATCH_OPERATIONS \
            and all(type(operation) is dict for operation in operations):  # fmt: skip
        return operations
    return parse(BatchRequest, data).operations


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


class _Parsed(NamedTuple):
    index: int
    key: str
    fingerprint: str
    kind: str
    signal_id: str
    operation: CreateOperation | EditOperation | RevokeOperation | None  # None: a plain create, read from ``raw``
    raw: dict[str, Any]
    rules: ContentSetRules | None


async def run_batch(caller: Caller, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each operation's {"status", "body"}: parsed, claimed together, then prepared and spooled together."""
    results: list[dict[str, Any] | None] = [None] * len(operations)
    parsed, copies = _parsed(caller, operations, results)
    # A batch costs its operations, the refused ones and repeats included (as many requests would).
    claims = await claimed(caller, [(p.key, p.fingerprint, p.signal_id or None) for p in parsed], operations=len(operations))
    mine: list[_Parsed] = []
    for entry, claim in zip(parsed, claims, strict=True):
        try:
            answer = earlier(claim, entry.key, entry.fingerprint, entry.signal_id)
        except Refusal as refusal:
            results[entry.index] = {"status": refusal.status, "body": refusal.body}
            continue
        if answer is None:
            mine.append(entry)
        else:
            results[entry.index] = {"status": answer.status, "body": orjson.Fragment(answer.body)}

    unsettled = {entry.key for entry in mine}  # claims this request holds and must settle
    try:
        stored: list[tuple[str, Prepared, Answer, str | None]] = []
        for entry in mine:
            try:
                ready = _prepare(caller, entry)
                if not isinstance(ready, Prepared):
                    ready = await ready
            except Refusal as refusal:
                results[entry.index] = {"status": refusal.status, "body": refusal.body}
                continue
            stored.append((entry.key, ready, Answer(ready.status, ready.body, entry.fingerprint), entry.signal_id or None))
            results[entry.index] = {"status": ready.status, "body": orjson.Fragment(ready.body)}
        if stored:
            unsettled.difference_update(key for key, *_ in stored)  # from here on the spool settles them
            await spool_stored(caller, stored)
    finally:
        if unsettled:
            operations_of(caller).settle(caller.project_id, [Settle(key, None) for key in unsettled])
    for index, first in copies:
        results[index] = results[first]
    return results  # type: ignore[return-value]


def _parsed(caller: Caller, operations: list[dict[str, Any]], results: list) -> tuple[list[_Parsed], list[tuple[int, int]]]:
    """The operations to claim, and (index, index of the operation it repeats) of repeats within
    the batch; a refused operation gets its result at once."""
    ingest, project_id = caller.ingest, caller.project_id
    begun: dict[str, tuple[int, str]] = {}  # key -> (index of its first operation in this batch, fingerprint)
    copies: list[tuple[int, int]] = []
    parsed: list[_Parsed] = []
    known_sets: dict[str, ContentSetRules] = {}
    for index, raw in enumerate(operations):
        try:
            rules = plain_create_rules(ingest, project_id, raw, PLAIN_OPERATION_FIELDS, known_sets) if raw.get("op") == CREATE else None
            if rules is not None:
                operation, kind, signal_id, key = None, CREATE, "", raw.get("idempotency_key") or uuid.uuid4().hex
            else:
                operation = _parse_operation(raw)
                kind, signal_id = operation.op, "" if operation.op == "create" else str(operation.signal_id)
                key = operation.idempotency_key or uuid.uuid4().hex
            fingerprint = fingerprint_of(kind, signal_id, raw)
            if key in begun:
                first, first_fingerprint = begun[key]
                if first_fingerprint != fingerprint:
                    raise Refusal(
                        409, "idempotency_key_reused",
                        f"idempotency_key {key!r} is used by operation {first} of this batch for a different request",
                    )  # fmt: skip
                copies.append((index, first))
                continue
        except Refusal as refusal:
            results[index] = {"status": refusal.status, "body": refusal.body}
            continue
        begun[key] = (index, fingerprint)
        parsed.append(_Parsed(index, key, fingerprint, kind, signal_id, operation, raw, rules))
    return parsed, copies


def _prepare(caller: Caller, entry: _Parsed) -> Prepared | Awaitable[Prepared]:
    operation = entry.operation
    if operation is None:
        assert entry.rules is not None
        return prepare_plain_create(caller, entry.key, entry.raw, entry.rules)  # the common case, without a model
    if entry.kind == CREATE and (rules := caller.ingest.cached_rules(caller.project_id, operation.content_set)):
        return prepare_create(caller, entry.key, operation, rules)  # without a coroutine
    return prepare(caller, entry.kind, entry.key, entry.signal_id, operation)
