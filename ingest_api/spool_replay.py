"""The answers spooled with the operations: what a retry is answered with, noted in the spool.

Each spool append carries, as its notes (``replay_notes``), per operation stored its idempotency
key, status, the fingerprint of the request and the answer body, and per revoke stored its signal
and the end of its edit window. They are never sent to ClickHouse. ``noted`` reads them back: the
shared idempotency store (``ingest_api.idempotency``) rebuilds itself from them after a reboot and
finds in them the answer of an operation whose worker died before recording it. (Rows spooled
before notes existed carry the same in ``_fp``, ``_status`` and ``_body`` keys; those are read too.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

import orjson
import structlog

log = structlog.get_logger(__name__)


class Answer(NamedTuple):
    """The answer given to an operation."""

    status: int
    body: bytes  # JSON
    fingerprint: str


Revoked = tuple[str, str, int]  # (idempotency key of the revoke, signal id, edit window's end in epoch ms)


def replay_notes(project_id: str, answered: Iterable[tuple[str, Answer]], revoked: Iterable[Revoked] = ()) -> bytes:
    """The spool notes of one append: ``[project, [[key, status, fingerprint, body], ...], [[key,
    signal id, until ms], ...]]`` (the last list only when the append stored revokes)."""
    notes: list = [project_id, [[key, status, fingerprint, orjson.Fragment(body)] for key, (status, body, fingerprint) in answered]]
    revoked = [list(revoke) for revoke in revoked]
    if revoked:
        notes.append(revoked)
    return orjson.dumps(notes)


def noted(appends: Iterable[tuple[list[bytes], bytes]]) -> Iterator[tuple[str, list[tuple[str, Answer]], list[Revoked]]]:
    """(project, [(key, answer)], [revoked]) of each spool append, (records, notes), oldest first."""
    for records, notes in appends:
        if notes:
            try:
                project_id, answered, *rest = orjson.loads(notes)
                yield (
                    project_id,
                    [(key, Answer(status, orjson.dumps(body), fingerprint)) for key, status, fingerprint, body in answered],
                    [(key, signal_id, until_ms) for key, signal_id, until_ms in (rest[0] if rest else [])],
                )
            except (orjson.JSONDecodeError, ValueError, TypeError):
                log.warning("spool_notes_unreadable", bytes=len(notes))
            continue
        for record in records:  # spooled before notes existed: the answer rides in the row
            try:
                row = orjson.loads(record)
                answer = Answer(status=row["_status"], body=orjson.dumps(row["_body"]), fingerprint=row["_fp"])
                yield row["project_id"], [(row["idempotency_key"], answer)], []
            except (orjson.JSONDecodeError, KeyError, TypeError):
                log.warning("spool_record_unreadable", bytes=len(record))
