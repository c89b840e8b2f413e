"""Exactly once across the API workers of one machine: the idempotency keys every worker shares.

Every operation (create, edit, revoke) has an idempotency key. Whichever worker takes it, the first
attempt is stored once and every retry gets the first answer; another request under a used key is
a 409. The workers (``FEELBACK_API_WORKERS``) are separate processes, so the keys live in LMDB, an
embedded key-value store that several processes open at once (a memory map and a write lock that
the kernel releases when its holder dies): a transaction costs microseconds, with no server.

An operation takes three steps (``ingest_api.ingest.once``):

1. **claim** (one write transaction per turn of the event loop, shared by the requests of that
   turn, ``claim_soon``; fewer turns of the write lock the workers share): the key's *answer* is replayed (the caller checks
   its fingerprint); a *claim* with another fingerprint is a 409; a claim with the same one is an
   attempt still in flight, which the caller waits for; a claim whose owner process died is
   resolved: its answer is looked up in the notes of the owner's spool lane (it died after spooling
   the operation) and kept, or else the claim is taken over. Otherwise the key is claimed. For an
   edit or a revoke, a revoked signal is refused (``revoked_until``).
2. the operation is checked and appended to this process's spool lane (fsynced, with its answer in
   the append's notes: ``ingest_api.spool_replay``);
3. **settle**: the answer replaces the claim (the claim is dropped when nothing was stored), and a
   stored revoke marks its signal revoked until its edit window closes. Settles queued in one turn
   of the event loop share one transaction (the spool wakes a whole fsync group together), or ride
   along with the next claim's.

Entries: (project, key) → claim or answer, in two generations of ``capacity / 2`` keys (the full
one becomes the older, the older is emptied), so the store keeps the last ``capacity / 2`` to
``capacity`` keys; (project, signal id) → revoked until; project → its rate-limit bucket, taken in
the claim's transaction (``Charge``), so the project's limit holds for the whole machine.

Durability: commits are not fsynced (a flush per operation would cost more than the operation; the
spool already pays one per group). A worker's crash loses nothing: the kernel keeps the memory map's
pages. A machine's crash may lose the last commits, so the store records the boot it was written
in, and on the first start after a reboot it is rebuilt from the notes of every spool lane.

Across machines nothing is shared: a retry that reaches another machine is stored again (with the
same signal id for a create, and dbt staging keeps one row per idempotency key), and a revoke is
known to the machine that took it; the read side (listing, stats, dbt) treats any revoke as final.
"""

from __future__ import annotations

import asyncio
import os
import struct
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import lmdb
import structlog

from ingest_api.ratelimit import take_tokens
from ingest_api.spool import lane_appends
from ingest_api.spool_replay import Answer, noted

log = structlog.get_logger(__name__)

_CLAIM, _ANSWER = b"C", b"A"
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_ROTATE_CHECK_EVERY = 256
_BUCKET = struct.Struct("<dd")  # tokens, time.monotonic() of the last take


class Claim(NamedTuple):
    """What ``claim`` found for one key (``kind``), with the answer or the revoke it found."""

    kind: str
    answer: Answer | None = None
    revoked_until_ms: int = 0
    owner: str = ""

    MINE = "mine"  # claimed for the caller: store the operation, then settle
    ANSWERED = "answered"  # answered before: replay ``answer`` (when its fingerprint matches)
    IN_FLIGHT = "in_flight"  # the same request is being stored by ``owner``: wait, then claim again
    CONFLICT = "conflict"  # another request is being stored under the key: 409
    REVOKED = "revoked"  # the edit's or revoke's signal is revoked: 409


class Charge(NamedTuple):
    """Tokens a request takes from its project's bucket (``ingest_api.ratelimit``) with its claims."""

    cost: int
    rate: float
    burst: float


class ProjectLimited(Exception):
    """The project's bucket has too few tokens: nothing was claimed; retry after ``wait`` seconds."""

    def __init__(self, wait: float):
        super().__init__(f"project rate limit: retry after {wait:.3f} s")
        self.wait = wait


class Settle(NamedTuple):
    """How a claimed operation ended: its answer once stored (None: not stored), and for a stored
    revoke, (signal id, edit window's end in epoch ms)."""

    key: str
    answer: Answer | None
    revoked: tuple[str, int] | None = None


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot; with the pid, unique), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_of(lane: str) -> str:
    """This process's name in claims: pid, its start time, and the spool lane it writes."""
    return f"{os.getpid()}:{process_start(os.getpid())}:{lane}"


def _owner_alive(owner: str) -> bool:
    pid, start, _ = owner.split(":", 2)
    return pid.isdigit() and process_start(int(pid)) == start


def _slot(project_id: str, key: str) -> bytes:
    return f"{project_id}\0{key}".encode()


def _claim_value(fingerprint: str, owner: str) -> bytes:
    fp = fingerprint.encode()
    return _CLAIM + bytes((len(fp),)) + fp + owner.encode()


def _answer_value(answer: Answer) -> bytes:
    fp = answer.fingerprint.encode()
    return _ANSWER + answer.status.to_bytes(2, "big") + bytes((len(fp),)) + fp + answer.body


def _decode_answer(value: bytes) -> Answer:
    length = value[3]
    return Answer(int.from_bytes(value[1:3], "big"), bytes(value[4 + length :]), value[4 : 4 + length].decode())


def _decode_claim(value: bytes) -> tuple[str, str]:
    """(fingerprint, owner) of a claim."""
    length = value[1]
    return value[2 : 2 + length].decode(), value[2 + length :].decode()


# LMDB must not be opened twice by one process (closing either would drop the other's locks): the
# stores of one process on the same folder (tests run several apps) share one environment.
_environments: dict[Path, list] = {}
_environments_lock = threading.Lock()


def _open_environment(path: Path, map_size: int) -> lmdb.Environment:
    with _environments_lock:
        entry = _environments.get(path)
        if entry is None:
            path.mkdir(parents=True, exist_ok=True)
            environment = lmdb.open(
                str(path), map_size=map_size, max_dbs=8, sync=False, metasync=False, writemap=True, max_spare_txns=4
            )
            entry = _environments[path] = [environment, 0]
        entry[1] += 1
        return entry[0]


def _close_environment(path: Path) -> None:
    with _environments_lock:
        entry = _environments[path]
        entry[1] -= 1
        if entry[1] == 0:
            entry[0].close()
            del _environments[path]


class IdempotencyStore:
    """The machine's idempotency keys and revoked signals, as one worker process sees them."""

    def __init__(self, path: Path, spool_root: Path, owner: str, capacity: int = 200_000, map_size: int = 1 << 30):
        self.path = path.resolve()
        self.spool_root = spool_root
        self.owner = owner
        self.capacity = capacity
        self.map_size = map_size
        self._env: lmdb.Environment | None = None
        self._claims_since_check = 0
        self._queued: list[tuple[str, list[Settle]]] = []
        self._claims_queued: list[tuple[str, list[tuple[str, str, str | None]], Charge | None, asyncio.Future[list[Claim]]]] = []
        self._flush_scheduled = False
        self._waiters: dict[bytes, list[asyncio.Future[None]]] = {}

    # --- lifecycle ------------------------------------------------------------------------------

    def open(self) -> IdempotencyStore:
        env = self._env = _open_environment(self.path, self.map_size)
        self._generations = (env.open_db(b"answers-0"), env.open_db(b"answers-1"))
        self._revoked = env.open_db(b"revoked")
        self._buckets = env.open_db(b"buckets")
        self._meta = env.open_db(b"meta")
        boot = _BOOT_ID.read_bytes().strip() if _BOOT_ID.exists() else b""
        with env.begin(write=True) as txn:
            if txn.get(b"boot", db=self._meta) != boot:
                # First start since the machine booted (or ever): commits of the previous boot may be
                # lost, so start again from what the spool lanes noted, under the write lock.
                for db in (*self._generations, self._revoked, self._buckets):
                    txn.drop(db, delete=False)
                txn.put(b"generation", b"0", db=self._meta)
                rebuilt = self._rebuild(txn)
                txn.put(b"boot", boot, db=self._meta)
                log.info("idempotency_keys_rebuilt", keys=rebuilt)
        return self

    def close(self) -> None:
        self.flush()
        if self._env is not None:
            self._env = None
            _close_environment(self.path)

    def _rebuild(self, txn: lmdb.Transaction) -> int:
        current = self._generations[0]
        count = 0
        lanes = sorted(path for path in self.spool_root.glob("lane-*") if path.is_dir()) if self.spool_root.exists() else []
        for lane in lanes:
            for project_id, answered, revoked in noted(lane_appends(lane)):
                for key, answer in answered:
                    txn.put(_slot(project_id, key), _answer_value(answer), db=current)
                    count += 1
                for _, signal_id, until_ms in revoked:
                    txn.put(_slot(project_id, signal_id), until_ms.to_bytes(8, "big"), db=self._revoked)
        return count

    # --- claim ----------------------------------------------------------------------------------

    def claim(self, project_id: str, items: Iterable[tuple[str, str, str | None]], now_ms: int | None = None,
              charge: Charge | None = None) -> list[Claim]:  # fmt: skip
        """Claim each (key, fingerprint, signal id of an edit or revoke, else None), in one transaction,
        having taken ``charge`` from the project's bucket (ProjectLimited: nothing claimed)."""
        assert self._env is not None, "the idempotency store is not open"
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        items = list(items)
        claims = self._claim_all(project_id, items, now_ms, charge)
        orphans = [index for index, claim in enumerate(claims) if claim.kind == "orphan"]
        for index in orphans:  # an owner died while storing: rare, so one at a time, outside the transaction
            key, fingerprint, signal_id = items[index]
            claims[index] = self._resolve_orphan(project_id, key, fingerprint, signal_id, claims[index].owner, now_ms)
        return claims

    def _claim_all(self, project_id: str, items: list[tuple[str, str, str | None]], now_ms: int, charge: Charge | None) -> list[Claim]:
        # Settles queued in this process ride along (under load one transaction per request, not two).
        queued, self._queued = self._queued, []
        claims: list[Claim] = []
        wait = 0.0
        try:
            with self._env.begin(write=True) as txn:
                current, older = self._current(txn)
                woken = self._write_settles(txn, current, older, queued) if queued else ()
                if charge is not None and charge.cost:
                    wait = self._take(txn, project_id, charge)
                if not wait:
                    for key, fingerprint, signal_id in items:
                        signal_slot = _slot(project_id, signal_id) if signal_id else None
                        claims.append(self._claim_one(txn, current, older, _slot(project_id, key), fingerprint, signal_slot, now_ms))
        except BaseException:
            self._queued[:0] = queued  # not written: settled by the next transaction
            raise
        self._wake(woken)
        if wait:
            raise ProjectLimited(wait)
        return claims

    def _take(self, txn: lmdb.Transaction, project_id: str, charge: Charge) -> float:
        """Take ``charge`` from the project's bucket: 0.0, else the seconds to wait (nothing taken)."""
        slot = project_id.encode()
        stored = txn.get(slot, db=self._buckets)
        now = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of the machine
        tokens, wait = take_tokens(_BUCKET.unpack(stored) if stored else None, now, charge.rate, charge.burst, charge.cost)
        if not wait:
            txn.put(slot, _BUCKET.pack(tokens, now), db=self._buckets)
        return wait

    def _current(self, txn: lmdb.Transaction) -> tuple[object, object]:
        index = 1 if txn.get(b"generation", db=self._meta) == b"1" else 0
        self._claims_since_check += 1
        if self._claims_since_check >= _ROTATE_CHECK_EVERY:
            self._claims_since_check = 0
            stat = txn.stat(self._generations[index])
            pages = stat["branch_pages"] + stat["leaf_pages"] + stat["overflow_pages"]
            # Full by count, or by size (large answers): two generations stay within half the map.
            if stat["entries"] >= self.capacity // 2 or pages * stat["psize"] >= self.map_size // 4:
                index = self._rotate(txn, index)
        return self._generations[index], self._generations[1 - index]

    def _rotate(self, txn: lmdb.Transaction, index: int) -> int:
        """Empty the older generation and make it the current one; forget revokes past their window."""
        newer = 1 - index
        txn.drop(self._generations[newer], delete=False)
        txn.put(b"generation", str(newer).encode(), db=self._meta)
        now_ms = int(time.time() * 1000)
        with txn.cursor(db=self._revoked) as cursor:
            expired = [slot for slot, until in cursor if int.from_bytes(until, "big") < now_ms]
        for slot in expired:
            txn.delete(slot, db=self._revoked)
        return newer

    def _claim_one(self, txn, current, older, slot: bytes, fingerprint: str, signal_slot: bytes | None, now_ms: int) -> Claim:
        value = txn.get(slot, db=current)
        if value is None:
            value = txn.get(slot, db=older)
        if value is not None:
            if value[:1] == _ANSWER:
                return Claim(Claim.ANSWERED, _decode_answer(value))
            claimed_fingerprint, owner = _decode_claim(value)
            if claimed_fingerprint != fingerprint:
                return Claim(Claim.CONFLICT, owner=owner)
            if owner == self.owner or _owner_alive(owner):
                return Claim(Claim.IN_FLIGHT, owner=owner)
            return Claim("orphan", owner=owner)
        if signal_slot is not None:
            until = txn.get(signal_slot, db=self._revoked)
            if until is not None and int.from_bytes(until, "big") >= now_ms:
                return Claim(Claim.REVOKED, revoked_until_ms=int.from_bytes(until, "big"))
        txn.put(slot, _claim_value(fingerprint, self.owner), db=current)
        return Claim(Claim.MINE)

    def _resolve_orphan(self, project_id: str, key: str, fingerprint: str, signal_id: str | None, owner: str, now_ms: int) -> Claim:
        """The claim of a dead owner: its answer when its spool lane noted one, else taken over."""
        found: tuple[Answer, tuple[str, int] | None] | None = None
        lane = self.spool_root / owner.split(":", 2)[2]
        for noted_project, answered, revoked in noted(lane_appends(lane)):
            if noted_project != project_id:
                continue
            for noted_key, answer in answered:
                if noted_key == key:
                    found = (answer, None)
            for noted_key, revoked_signal, until_ms in revoked:
                if noted_key == key and found is not None:
                    found = (found[0], (revoked_signal, until_ms))
        slot = _slot(project_id, key)
        with self._env.begin(write=True) as txn:
            current, older = self._current(txn)
            value = txn.get(slot, db=current) or txn.get(slot, db=older)
            if value is None or value[:1] != _CLAIM or _decode_claim(value)[1] != owner:
                pass  # settled or taken over meanwhile: claim again below
            elif found is not None:
                answer, revoke = found
                txn.delete(slot, db=older)
                txn.put(slot, _answer_value(answer), db=current)
                if revoke is not None:
                    txn.put(_slot(project_id, revoke[0]), revoke[1].to_bytes(8, "big"), db=self._revoked)
                log.info("idempotency_claim_of_dead_worker_answered", owner=owner)
                return Claim(Claim.ANSWERED, answer)
            else:
                txn.delete(slot, db=older)
                txn.delete(slot, db=current)
                log.info("idempotency_claim_of_dead_worker_taken_over", owner=owner)
        return self.claim(project_id, [(key, fingerprint, signal_id)], now_ms)[0]

    async def wait(self, project_id: str, key: str, claim: Claim, seconds: float) -> None:
        """Wait (at most ``seconds``) for the in-flight attempt of ``claim`` to settle; then claim again."""
        if claim.owner == self.owner:  # this process: woken by settle
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(_slot(project_id, key), []).append(future)
            try:
                await asyncio.wait_for(future, seconds)
            except TimeoutError:
                pass
        else:  # another worker: look again shortly
            await asyncio.sleep(seconds)

    # --- settle ---------------------------------------------------------------------------------

    def settle(self, project_id: str, settles: list[Settle]) -> None:
        """Record how claimed operations ended; written with the others settled in this turn of the
        event loop (or at once, outside one)."""
        if not settles:
            return
        self._queued.append((project_id, settles))
        try:
            self._schedule_flush()
        except RuntimeError:  # outside an event loop
            self.flush()

    def claim_soon(self, project_id: str, items: list[tuple[str, str, str | None]], charge: Charge | None = None) -> asyncio.Future[list[Claim]]:
        """``claim``, written with the other claims and settles of this turn of the event loop in one
        transaction (fewer turns of the write lock the workers share); the future raises
        ProjectLimited or the store's error."""
        future: asyncio.Future[list[Claim]] = asyncio.get_running_loop().create_future()
        self._claims_queued.append((project_id, items, charge, future))
        self._schedule_flush()
        return future

    def _schedule_flush(self) -> None:
        loop = asyncio.get_running_loop()  # RuntimeError outside an event loop
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        queued, self._queued = self._queued, []
        claims_queued, self._claims_queued = self._claims_queued, []
        if (not queued and not claims_queued) or self._env is None:
            return
        now_ms = int(time.time() * 1000)
        results: list[list[Claim] | ProjectLimited] = []
        try:
            with self._env.begin(write=True) as txn:
                current, older = self._current(txn)
                woken = self._write_settles(txn, current, older, queued) if queued else ()
                for project_id, items, charge, _ in claims_queued:
                    wait = self._take(txn, project_id, charge) if charge is not None and charge.cost else 0.0
                    if wait:
                        results.append(ProjectLimited(wait))
                        continue
                    results.append([
                        self._claim_one(txn, current, older, _slot(project_id, key), fingerprint,
                                        _slot(project_id, signal_id) if signal_id else None, now_ms)
                        for key, fingerprint, signal_id in items
                    ])  # fmt: skip
        except lmdb.Error as exc:  # settles: their claims stay in flight (retries wait, then 503)
            log.error("idempotency_store_failed", error=str(exc), settles=sum(len(settles) for _, settles in queued))
            for *_, future in claims_queued:
                if not future.done():
                    future.set_exception(exc)
            return
        self._wake(woken)
        for (project_id, items, _, future), result in zip(claims_queued, results, strict=True):
            if isinstance(result, ProjectLimited):
                if not future.done():
                    future.set_exception(result)
                continue
            for index, claim in enumerate(result):
                if claim.kind == "orphan":  # an owner died while storing: rare
                    key, fingerprint, signal_id = items[index]
                    result[index] = self._resolve_orphan(project_id, key, fingerprint, signal_id, claim.owner, now_ms)
            if future.done():  # its request went away meanwhile: give back what it claimed
                self.settle(project_id, [Settle(items[i][0], None) for i, claim in enumerate(result) if claim.kind == Claim.MINE])
            else:
                future.set_result(result)

    def _write_settles(self, txn, current, older, queued: list[tuple[str, list[Settle]]]) -> list[bytes]:
        woken: list[bytes] = []
        for project_id, settles in queued:
            for key, answer, revoked in settles:
                slot = _slot(project_id, key)
                if answer is None:
                    replaced = txn.pop(slot, db=current)
                else:
                    replaced = txn.replace(slot, _answer_value(answer), db=current)
                if replaced is None:  # claimed before the generations turned
                    txn.delete(slot, db=older)
                if answer is not None and revoked is not None:
                    txn.put(_slot(project_id, revoked[0]), revoked[1].to_bytes(8, "big"), db=self._revoked)
                woken.append(slot)
        return woken

    def _wake(self, slots) -> None:
        if self._waiters:
            for slot in slots:
                for future in self._waiters.pop(slot, ()):
                    if not future.done():
                        future.set_result(None)
