"""Answers for retried operations: a bounded map of recent idempotency keys, rebuilt from the spool.

A retry (same project, same idempotency key) gets the first attempt's status and body again and
writes nothing. Each spool append carries what the map needs as its notes (``replay_notes``: per
operation its key, status, fingerprint of the request and answer body), so a restarted process
rebuilds the map from the segments still in its lane, drained ones included for a while. (Rows
spooled before notes existed carry the same in ``_fp``, ``_status`` and ``_body`` keys; those are
read too.) Beyond that, retries hitting another replica, or arriving long after, are stored twice
at most and dbt staging keeps one per idempotency key; create is safe there too because its signal
id is derived from the key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import NamedTuple

import orjson
import structlog

log = structlog.get_logger(__name__)


class Answer(NamedTuple):
    """The answer given to an operation; a tuple of a number and strings, so the garbage collector
    soon stops scanning the many kept in memory."""

    status: int
    body: bytes  # JSON
    fingerprint: str


def replay_notes(project_id: str, answered: Iterable[tuple[str, Answer]]) -> bytes:
    """The spool notes of one append: its project and, per operation stored (idempotency key and
    answer), ``[key, status, fingerprint, answer body]``; ``rebuild`` reads them back."""
    return orjson.dumps([project_id, [[key, status, fingerprint, orjson.Fragment(body)] for key, (status, body, fingerprint) in answered]])


class RecentOperations:
    """(project, idempotency key) → the answer given, for the last ``capacity / 2`` to ``capacity``
    operations.

    Two generations of plain dicts instead of one LRU: a full generation becomes the older one and
    the one before it is dropped, so remembering costs one dict insert (it runs per operation)."""

    def __init__(self, capacity: int = 200_000):
        self.capacity = capacity
        self._answers: dict[tuple[str, str], Answer] = {}
        self._older: dict[tuple[str, str], Answer] = {}
        # Operations being written; a concurrent retry parks a future here to get their answer.
        self._in_flight: dict[tuple[str, str], list[asyncio.Future[Answer | None]] | None] = {}

    def get(self, project_id: str, key: str) -> Answer | None:
        answer = self._answers.get((project_id, key))
        return answer if answer is not None else self._older.get((project_id, key))

    def seen(self, project_id: str, key: str) -> bool:
        """Whether this key has an answer or an operation in flight."""
        slot = (project_id, key)
        return slot in self._answers or slot in self._in_flight or slot in self._older

    def wait_for(self, project_id: str, key: str) -> asyncio.Future[Answer | None] | None:
        """A future for the answer of an operation still being written (None: nothing in flight)."""
        slot = (project_id, key)
        if slot not in self._in_flight:
            return None
        future: asyncio.Future[Answer | None] = asyncio.get_running_loop().create_future()
        waiters = self._in_flight[slot]
        if waiters is None:
            self._in_flight[slot] = [future]
        else:
            waiters.append(future)
        return future

    def begin(self, project_id: str, key: str) -> None:
        """Mark an operation as being written, so a concurrent retry waits for its answer."""
        self._in_flight[(project_id, key)] = None

    def finish(self, project_id: str, key: str, answer: Answer | None) -> None:
        """Settle an operation begun with ``begin``: ``answer`` once stored, None when it was not."""
        waiters = self._in_flight.pop((project_id, key), None)
        if answer is not None:
            self.remember(project_id, key, answer)
        if waiters:
            for future in waiters:
                if not future.done():
                    future.set_result(answer)

    def remember(self, project_id: str, key: str, answer: Answer) -> None:
        self._answers[(project_id, key)] = answer
        if len(self._answers) >= self.capacity // 2:
            self._older, self._answers = self._answers, {}

    def rebuild(self, appends: Iterable[tuple[list[bytes], bytes]]) -> int:
        """Remember the answers of spool appends, (records, notes) oldest first; returns how many."""
        count = 0
        for records, notes in appends:
            if notes:
                count += self._remember_notes(notes)
                continue
            for record in records:  # spooled before notes existed: the answer rides in the row
                try:
                    row = orjson.loads(record)
                    answer = Answer(status=row["_status"], body=orjson.dumps(row["_body"]), fingerprint=row["_fp"])
                    self.remember(row["project_id"], row["idempotency_key"], answer)
                    count += 1
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    log.warning("spool_record_unreadable", bytes=len(record))
        return count

    def _remember_notes(self, notes: bytes) -> int:
        try:
            project_id, answered = orjson.loads(notes)
            for key, status, fingerprint, body in answered:
                self.remember(project_id, key, Answer(status, orjson.dumps(body), fingerprint))
        except (orjson.JSONDecodeError, ValueError, TypeError):
            log.warning("spool_notes_unreadable", bytes=len(notes))
            return 0
        return len(answered)

    def __len__(self) -> int:
        return len(self._answers) + len(self._older)
