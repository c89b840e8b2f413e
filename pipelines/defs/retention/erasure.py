"""Carrying out erasure requests: every row of a visitor, or of a content, leaves the warehouse.

Rows go from every MergeTree table (outside the system databases) that can name them: tables with
``project_id`` and ``visitor_id`` (raw events, staging, signal facts), tables with ``project_id`` and
``signal_id`` (scores of the erased signals), and for a content also the tables keyed by
``content_set``/``content_key`` (per-content aggregates). Aggregates above the content (content sets)
cannot be corrected by deleting rows; ``touched`` says which (project, day) they count, and
``assets`` rebuilds them from the corrected facts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client
from sqlalchemy import select, update

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import ErasureRequest, JobStatus
from feelback.settings import Settings
from pipelines.defs.retention.events import quote_table

SYSTEM_DATABASES = ("system", "INFORMATION_SCHEMA", "information_schema")


@dataclass(frozen=True)
class Erasure:
    request_id: int
    project_id: str
    visitor_id: str | None
    content_set: str | None
    content_key: str | None

    @property
    def subject(self) -> str:
        if self.visitor_id is not None:
            return f"visitor {self.visitor_id}"
        return f"content {self.content_set or '*'}/{self.content_key}"


@dataclass
class ErasureResult:
    erasure: Erasure
    rows: dict[str, int] = field(default_factory=dict)  # table → rows removed (or to remove, dry run)
    touched_days: list[dt.date] = field(default_factory=list)  # days of the marts (project time zone) that counted the rows

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def pending_erasures(settings: Settings) -> list[Erasure]:
    with session_scope(settings) as session:
        rows = session.scalars(
            select(ErasureRequest).where(ErasureRequest.status.in_([JobStatus.pending, JobStatus.running, JobStatus.failed])).order_by(ErasureRequest.id)
        )
        return [Erasure(r.id, r.project_id, r.visitor_id, r.content_set, r.content_key) for r in rows]


def tables_with(client: Client, columns: list[str]) -> list[str]:
    """MergeTree tables (database.table) that have every one of ``columns``."""
    rows = client.query(
        """
        SELECT concat(c.database, '.', c.table) AS name
        FROM system.columns AS c
        INNER JOIN system.tables AS t ON t.database = c.database AND t.name = c.table
        WHERE c.name IN {columns:Array(String)}
          AND c.database NOT IN {system:Array(String)}
          AND t.engine LIKE '%MergeTree'
        GROUP BY name
        HAVING uniqExact(c.name) = length({columns:Array(String)})
        ORDER BY name
        """,
        parameters={"columns": columns, "system": list(SYSTEM_DATABASES)},
    ).result_rows
    return [name for (name,) in rows]


def _condition(erasure: Erasure) -> tuple[list[str], str, dict]:
    """Columns a table needs, the WHERE clause and its parameters for the rows of ``erasure``."""
    parameters = {"project": erasure.project_id}
    if erasure.visitor_id is not None:
        parameters["visitor"] = erasure.visitor_id
        return ["project_id", "visitor_id"], "project_id = {project:String} AND visitor_id = {visitor:String}", parameters
    parameters["content_key"] = erasure.content_key
    if erasure.content_set:
        parameters["content_set"] = erasure.content_set
        return (
            ["project_id", "content_set", "content_key"],
            "project_id = {project:String} AND content_set = {content_set:String} AND content_key = {content_key:String}",
            parameters,
        )
    return ["project_id", "content_key"], "project_id = {project:String} AND content_key = {content_key:String}", parameters


def erase(client: Client, erasure: Erasure, dry_run: bool) -> ErasureResult:
    result = ErasureResult(erasure)
    columns, where, parameters = _condition(erasure)
    # Signals and days first: once raw rows are gone nothing can name them any more.
    signal_ids = [
        str(signal_id)
        for (signal_id,) in client.query(
            f"SELECT DISTINCT signal_id FROM raw.feedback_events WHERE {where}", parameters=parameters
        ).result_rows
    ]
    targets = [(table, where, parameters) for table in tables_with(client, columns)]
    days: set[dt.date] = set()
    for table in tables_with(client, [*columns, "day"]):
        days.update(day for (day,) in client.query(f"SELECT DISTINCT day FROM {quote_table(table)} WHERE {where}", parameters=parameters).result_rows)
    result.touched_days = sorted(days)
    if signal_ids:
        by_signal = "project_id = {project:String} AND toString(signal_id) IN {signals:Array(String)}"
        signal_parameters = {"project": erasure.project_id, "signals": signal_ids}
        named = {table for table, _, _ in targets}
        targets += [(table, by_signal, signal_parameters) for table in tables_with(client, ["project_id", "signal_id"]) if table not in named]
    for table, condition, values in targets:
        count = client.query(f"SELECT count() FROM {quote_table(table)} WHERE {condition}", parameters=values).result_rows[0][0]
        if count:
            result.rows[table] = int(count)
            if not dry_run:
                client.command(f"DELETE FROM {quote_table(table)} WHERE {condition}", parameters=values)
    return result


def mark_running(settings: Settings, erasure: Erasure) -> None:
    with session_scope(settings) as session:
        session.execute(update(ErasureRequest).where(ErasureRequest.id == erasure.request_id).values(status=JobStatus.running))


def mark_done(settings: Settings, request_id: int) -> None:
    with session_scope(settings) as session:
        session.execute(
            update(ErasureRequest)
            .where(ErasureRequest.id == request_id)
            .values(status=JobStatus.done, finished_at=dt.datetime.now(dt.UTC), error=None)
        )


def mark_failed(settings: Settings, erasure: Erasure, error: str) -> None:
    with session_scope(settings) as session:
        session.execute(
            update(ErasureRequest).where(ErasureRequest.id == erasure.request_id).values(status=JobStatus.failed, error=error[:2000])
        )
