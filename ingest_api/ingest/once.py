"""Idempotency on the write path: each operation is stored once, and a retry (same project, same
idempotency key) gets the first answer again, whichever worker of the machine takes it; the same
key with a different request is a 409. A revoked signal is final: a later edit or revoke is a 409.

The key is claimed in the store every worker shares (``ingest_api.idempotency``) before anything
that may suspend, so two attempts can never both pass the check; the claim is settled when the
spool has written the operation (or dropped when it was refused or not stored).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import lmdb
import structlog

from ingest_api.idempotency import Charge, Claim, IdempotencyStore, ProjectLimited, Settle
from ingest_api.ingest.caller import Caller, iso_ms
from ingest_api.ingest.operations import Prepared
from ingest_api.ingest.refusals import Refusal, rate_limited, spool_refusal
from ingest_api.spool import SpoolFull
from ingest_api.spool_replay import Answer, Revoked, replay_notes

log = structlog.get_logger(__name__)

REPLAYED_HEADER = "Idempotent-Replayed"
REPLAYED = {REPLAYED_HEADER: "true"}
WAIT_SECONDS = 30.0  # for an earlier attempt still being stored (the spool's fsync, a rules load)

ClaimItem = tuple[str, str, str | None]  # (idempotency key, fingerprint, signal id of an edit or revoke)


def check_same_request(answer: Answer, fingerprint: str, key: str) -> Answer:
    if answer.fingerprint != fingerprint:
        raise reused(key)
    return answer


def reused(key: str) -> Refusal:
    return Refusal(
        409, "idempotency_key_reused",
        f"idempotency_key {key!r} was already used for a different request; use a new key per operation",
    )  # fmt: skip


def revoked(signal_id: str, until_ms: int) -> Refusal:
    return Refusal(
        409, "signal_revoked",
        f"signal {signal_id} was revoked; a revoked signal cannot be edited or revoked again",
        revoked_until=iso_ms(until_ms),
    )  # fmt: skip


def charge(caller: Caller, operations: int) -> Charge:
    """What a request of ``operations`` takes from its project's bucket; 413 over the burst (it
    could never pass: retrying would not help)."""
    limits = caller.ingest.limits
    if operations > limits.project_burst:
        raise Refusal(
            413, "batch_over_rate_limit",
            f"this batch has {operations} operations; the project's rate limit is {limits.project_rate:g} operations "
            f"per second, at most {limits.project_burst:g} at once: send at most {limits.project_burst:g} per batch",
            limit=int(limits.project_burst),
        )  # fmt: skip
    return Charge(operations, limits.project_rate, limits.project_burst)


async def claimed(caller: Caller, items: list[ClaimItem], operations: int = 0) -> list[Claim]:
    """The claims of ``items`` in the shared store, once no earlier attempt of them is in flight,
    having charged the project's rate limit for ``operations``."""
    store = operations_of(caller)
    try:
        claims = await store.claim_soon(caller.project_id, items, charge(caller, operations) if operations else None)
    except ProjectLimited as limited:
        raise rate_limited(limited.wait, "project") from None
    except lmdb.Error as exc:
        log.error("idempotency_claim_failed", error=str(exc))
        raise spool_refusal(exc) from None  # 503 ingest_unavailable, Retry-After
    deadline, delay = time.monotonic() + WAIT_SECONDS, 0.002
    while waiting := [index for index, claim in enumerate(claims) if claim.kind == Claim.IN_FLIGHT]:
        if time.monotonic() > deadline:
            raise Refusal(
                503, "operation_in_progress",
                "an earlier attempt of this operation is still being stored; retry later", headers={"Retry-After": "1"},
            )  # fmt: skip
        first = waiting[0]
        await store.wait(caller.project_id, items[first][0], claims[first], delay)
        delay = min(delay * 2, 0.05)
        for index, claim in zip(waiting, store.claim(caller.project_id, [items[index] for index in waiting]), strict=True):
            claims[index] = claim
    return claims


def earlier(claim: Claim, key: str, fingerprint: str, signal_id: str | None) -> Answer | None:
    """The answer to replay for a claim (None: it is the caller's to store); raises the 409s."""
    if claim.kind == Claim.MINE:
        return None
    if claim.kind == Claim.ANSWERED:
        assert claim.answer is not None
        return check_same_request(claim.answer, fingerprint, key)
    if claim.kind == Claim.REVOKED:
        raise revoked(signal_id or "", claim.revoked_until_ms)
    raise reused(key)  # CONFLICT


def operations_of(caller: Caller) -> IdempotencyStore:
    store = caller.ingest.operations
    assert store is not None, "the ingest state is not started"
    return store


async def spool_stored(caller: Caller, stored: list[tuple[str, Prepared, Answer, str | None]]) -> None:
    """Append the operations (key, prepared, answer, signal id) to the spool in one append, then
    settle their claims: answered once written, dropped when not. The settle happens even if the
    request is cancelled meanwhile (the spool calls back), so a retry never stores them again."""
    project_id, store = caller.project_id, operations_of(caller)
    revokes: list[Revoked] = [(key, signal_id or "", ready.revoked_until_ms) for key, ready, _, signal_id in stored if ready.revoked_until_ms]
    settles = [
        Settle(key, answer, (signal_id or "", ready.revoked_until_ms) if ready.revoked_until_ms else None)
        for key, ready, answer, signal_id in stored
    ]  # fmt: skip

    def written(error: BaseException | None) -> None:
        store.settle(project_id, settles if error is None else [Settle(key, None) for key, *_ in settles])

    notes = replay_notes(project_id, [(key, answer) for key, _, answer, _ in stored], revokes)
    try:
        await caller.ingest.spool.append([ready.record for _, ready, _, _ in stored], notes, written)
    except (SpoolFull, OSError) as exc:
        raise spool_refusal(exc) from None


async def store_once(caller: Caller, key: str, fingerprint: str,
                     prepare_one: Callable[[], Prepared | Awaitable[Prepared]],
                     signal_id: str | None = None) -> tuple[int, bytes, dict[str, str] | None]:  # fmt: skip
    """The earlier answer for ``key`` (with the replayed header), or ``prepare_one``'s operation
    spooled and remembered: (status, JSON body, extra headers). ``signal_id``: an edit's or revoke's.
    Costs one token of the project's rate limit, a retry too."""
    (claim,) = await claimed(caller, [(key, fingerprint, signal_id)], operations=1)
    answer = earlier(claim, key, fingerprint, signal_id)
    if answer is not None:
        return answer.status, answer.body, REPLAYED
    handed = False
    try:
        prepared = prepare_one()
        if not isinstance(prepared, Prepared):
            prepared = await prepared
        handed = True  # from here on the spool settles the claim
        await spool_stored(caller, [(key, prepared, Answer(prepared.status, prepared.body, fingerprint), signal_id)])
    finally:
        if not handed:
            operations_of(caller).settle(caller.project_id, [Settle(key, None)])
    return prepared.status, prepared.body, None
