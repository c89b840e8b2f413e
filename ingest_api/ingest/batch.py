"""``POST /v1/batch``: many operations in one request, each with its own status and body; the
stored ones are spooled together, in one append."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from pydantic import ValidationError

from feelback.domain import ContentSetRules
from ingest_api.errors import validation_message
from ingest_api.ingest.bodies import parse
from ingest_api.ingest.caller import Caller
from ingest_api.ingest.once import earlier_answer
from ingest_api.ingest.operations import CREATE, fingerprint_of, prepare, prepare_create, prepare_plain_create
from ingest_api.ingest.plain import PLAIN_OPERATION_FIELDS, plain_create_rules
from ingest_api.ingest.refusals import Refusal, spool_refusal
from ingest_api.signal_schemas import MAX_BATCH_OPERATIONS, BatchRequest, CreateOperation, EditOperation, RevokeOperation, operation_adapter
from ingest_api.spool import SpoolFull
from ingest_api.spool_replay import Answer, replay_notes

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


async def run_batch(caller: Caller, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ingest = caller.ingest
    project_id, recent = caller.project_id, ingest.recent
    results: list[dict[str, Any] | None] = [None] * len(operations)
    begun: dict[str, tuple[int, str]] = {}  # key -> (index of its first operation in this batch, fingerprint)
    copies: list[tuple[int, int]] = []  # (index, index of the operation it repeats)
    prepared: list[tuple[int, str, Answer, bytes]] = []  # (index, key, answer, row)
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
            if recent.seen(project_id, key):
                earlier = await earlier_answer(recent, project_id, key, fingerprint)
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
        raise spool_refusal(exc) from None
    finally:
        for index, key, answer, _ in prepared:
            recent.finish(project_id, key, answer if stored else None)
            results[index] = {"status": answer.status, "body": orjson.Fragment(answer.body)}
    for index, first in copies:
        results[index] = results[first]
    return results  # type: ignore[return-value]

