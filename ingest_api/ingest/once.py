"""Idempotency on the write path: each operation is stored once, and a retry (same project, same
idempotency key) gets the first answer again; the same key with a different request is a 409."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ingest_api.ingest.caller import Caller
from ingest_api.ingest.operations import Prepared
from ingest_api.ingest.refusals import Refusal, spool_refusal
from ingest_api.spool import SpoolFull
from ingest_api.spool_replay import Answer, RecentOperations, replay_notes

REPLAYED_HEADER = "Idempotent-Replayed"
REPLAYED = {REPLAYED_HEADER: "true"}


def check_same_request(answer: Answer, fingerprint: str, key: str) -> Answer:
    if answer.fingerprint != fingerprint:
        raise Refusal(
            409, "idempotency_key_reused",
            f"idempotency_key {key!r} was already used for a different request; use a new key per operation",
        )  # fmt: skip
    return answer


async def earlier_answer(recent: RecentOperations, project_id: str, key: str, fingerprint: str) -> Answer | None:
    """The answer already given for this key (waiting for an attempt still being written), if any."""
    while True:  # callers skip this coroutine when recent.seen() says there is nothing to find
        answer = recent.get(project_id, key)
        if answer is not None:
            return check_same_request(answer, fingerprint, key)
        pending = recent.wait_for(project_id, key)
        if pending is None:
            return None
        answer = await pending
        if answer is not None:
            return check_same_request(answer, fingerprint, key)


async def store_once(caller: Caller, key: str, fingerprint: str,
                     prepare_one: Callable[[], Prepared | Awaitable[Prepared]]) -> tuple[int, bytes, dict[str, str] | None]:  # fmt: skip
    """The earlier answer for ``key`` (with the replayed header), or ``prepare_one``'s operation
    spooled and remembered: (status, JSON body, extra headers)."""
    recent = caller.ingest.recent
    if recent.seen(caller.project_id, key):
        earlier = await earlier_answer(recent, caller.project_id, key, fingerprint)
        if earlier is not None:
            return earlier.status, earlier.body, REPLAYED
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
            raise spool_refusal(exc) from None
        answer = stored
    finally:
        recent.finish(caller.project_id, key, answer)
    return prepared.status, prepared.body, None
