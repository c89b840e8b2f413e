"""Reading signals' current state from ``raw.feedback_events`` for the management API.

The current state of a signal is its latest create or edit (by ``received_at``; at the same instant
an edit outranks a create, then the later ``occurred_at``, then the event id: int_signal_lifecycle's
order); a signal with any revoke is left out, whatever came after it (a revoke is final). Pages are ordered newest
first by the signal's first event and cut by a keyset cursor ``(created_at, signal_id)``.

A message's sentiment is the label (``ingest_api.stats.measures``) of the VADER score the pipeline
stored for its current text in ``enrichment.message_sentiment``, as fct_signals reads it; a text not
scored yet has none, so it matches no sentiment filter.

Contract: ``SignalFilters``; ``list_signals(client, project_id, filters, limit, cursor) -> (rows, next_cursor)``;
``message_sentiments(client, project_id, rows)``; ``signal_type_of(client, project_id, signal_id)``; ``content_set_has_signals(client, project_id, set_key)``;
``encode_cursor`` / ``decode_cursor`` (``decode_cursor`` raises ValueError on a bad cursor).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from clickhouse_connect.driver.client import Client

from ingest_api.schema_types import to_instant
from ingest_api.stats.measures import SentimentLabel, sentiment_condition, sentiment_label

LATEST_STATE_SQL = """
SELECT
    signal_id,
    content_set,
    content_key,
    signal_type,
    value,
    rating_scale,
    reaction,
    message,
    tags,
    contact_email,
    form_fields,
    visitor_id,
    is_bot,
    created_at,
    updated_at,
    operations,
    text_event_id
FROM
(
    SELECT
        signal_id,
        content_set,
        content_key,
        signal_type,
        operation,
        value,
        rating_scale,
        reaction,
        message,
        tags,
        contact_email,
        form_fields,
        visitor_id,
        is_bot,
        min(received_at) OVER (PARTITION BY signal_id) AS created_at,
        received_at AS updated_at,
        count() OVER (PARTITION BY signal_id) AS operations,
        event_id AS text_event_id,
        max(operation = 'revoke') OVER (PARTITION BY signal_id) AS revoked
    FROM raw.feedback_events
    WHERE {event_filters}
    ORDER BY signal_id, operation != 'revoke' DESC, received_at DESC, operation DESC, occurred_at DESC, event_id DESC
    LIMIT 1 BY signal_id
)
WHERE {state_filters}
ORDER BY created_at DESC, signal_id DESC
LIMIT {{limit:UInt32}}
"""

MAX_CURSOR_LENGTH = 200  # the cursors this API returns are about 100 characters

COLUMNS = (
    "signal_id",
    "content_set",
    "content_key",
    "signal_type",
    "value",
    "rating_scale",
    "reaction",
    "message",
    "tags",
    "contact_email",
    "form_fields",
    "visitor_id",
    "is_bot",
    "created_at",
    "updated_at",
    "operations",
    "text_event_id",
)

# Signals whose current text's latest score is in a sentiment bucket ({label} is measures' condition).
SCORED_TEXTS_SQL = """(signal_id, text_event_id) IN (
    SELECT signal_id, event_id FROM enrichment.message_sentiment
    WHERE project_id = {{project_id:String}}{since}
    GROUP BY signal_id, event_id
    HAVING {label}
)"""


@dataclass
class SignalFilters:
    content_set: str | None = None
    content_key: str | None = None
    signal_type: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    text: str | None = None
    tags: list[str] = field(default_factory=list)  # messages with any of these tags
    sentiment: SentimentLabel | None = None
    # Keep only these signal ids, or leave these out (triage filters, resolved in the control-plane DB).
    only_ids: list[str] | None = None
    except_ids: list[str] = field(default_factory=list)


def encode_cursor(created_at: dt.datetime, signal_id: str) -> str:
    raw = json.dumps([created_at.astimezone(dt.UTC).isoformat(timespec="milliseconds"), signal_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """The cursor's (created_at in UTC, signal id); ValueError unless it could be one this API returned."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        created_at, signal_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return to_instant(dt.datetime.fromisoformat(created_at)), str(uuid.UUID(signal_id))
    except (ValueError, TypeError, AttributeError) as exc:
        shown = cursor if len(cursor) <= 60 else cursor[:57] + "..."
        raise ValueError(f"cursor {shown!r} is not one this API returned") from exc


def _utc(moment: dt.datetime) -> dt.datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _build(project_id: str, filters: SignalFilters, cursor: str | None) -> tuple[str, dict[str, Any]]:
    parameters: dict[str, Any] = {"project_id": project_id}
    event_filters = ["project_id = {project_id:String}"]
    state_filters = ["NOT revoked"]
    if filters.content_set is not None:
        event_filters.append("content_set = {content_set:String}")
        parameters["content_set"] = filters.content_set
    if filters.content_key is not None:
        event_filters.append("content_key = {content_key:String}")
        parameters["content_key"] = filters.content_key
    if filters.signal_type is not None:
        event_filters.append("signal_type = {signal_type:String}")
        parameters["signal_type"] = filters.signal_type
    if filters.only_ids is not None:
        event_filters.append("has({only_ids:Array(UUID)}, signal_id)")
        parameters["only_ids"] = filters.only_ids
    if filters.except_ids:
        event_filters.append("NOT has({except_ids:Array(UUID)}, signal_id)")
        parameters["except_ids"] = filters.except_ids
    if filters.since is not None:
        state_filters.append("created_at >= {since:DateTime64(3, 'UTC')}")
        parameters["since"] = _utc(filters.since)
    if filters.until is not None:
        state_filters.append("created_at < {until:DateTime64(3, 'UTC')}")
        parameters["until"] = _utc(filters.until)
    if filters.text:
        state_filters.append("positionCaseInsensitiveUTF8(message, {text:String}) > 0")
        parameters["text"] = filters.text
    if filters.tags:
        state_filters.append("hasAny(tags, {tags:Array(String)})")
        parameters["tags"] = filters.tags
    if filters.sentiment is not None:
        label, thresholds = sentiment_condition(filters.sentiment, "argMax(compound, scored_at)")
        # A text is received after its signal was created: the since bound prunes the scores' partitions.
        since = "" if filters.since is None else " AND received_at >= {since:DateTime64(3, 'UTC')}"
        state_filters.append(SCORED_TEXTS_SQL.format(since=since, label=label))
        parameters.update(thresholds)
    if cursor is not None:
        after_created_at, after_signal_id = decode_cursor(cursor)
        state_filters.append(
            "(created_at, signal_id) < ({after_created_at:DateTime64(3, 'UTC')}, {after_signal_id:UUID})"
        )
        parameters["after_created_at"] = _utc(after_created_at)
        parameters["after_signal_id"] = after_signal_id
    sql = LATEST_STATE_SQL.format(
        event_filters="\n      AND ".join(event_filters), state_filters="\n  AND ".join(state_filters)
    )
    return sql, parameters


def list_signals(
    client: Client, project_id: str, filters: SignalFilters, limit: int, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of signals, newest first, and the cursor of the next page (None on the last)."""
    sql, parameters = _build(project_id, filters, cursor)
    parameters["limit"] = limit + 1
    result = client.query(sql, parameters=parameters)
    rows = [dict(zip(COLUMNS, row)) for row in result.result_rows]
    for row in rows:
        row["signal_id"] = str(row["signal_id"])
        row["created_at"] = _utc(row["created_at"])
        row["updated_at"] = _utc(row["updated_at"])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["created_at"], rows[-1]["signal_id"])


def message_sentiments(client: Client, project_id: str, rows: list[dict[str, Any]]) -> dict[str, SentimentLabel]:
    """The sentiment of each listed message whose current text has a score, by signal id."""
    texts = {row["signal_id"]: str(row["text_event_id"]) for row in rows if row["signal_type"] == "message"}
    if not texts:
        return {}
    result = client.query(
        "SELECT toString(signal_id), toString(event_id), argMax(compound, scored_at) FROM enrichment.message_sentiment"
        " WHERE project_id = {project_id:String} AND signal_id IN {ids:Array(UUID)} GROUP BY signal_id, event_id",
        parameters={"project_id": project_id, "ids": list(texts)},
    )
    return {
        signal_id: sentiment_label(score)
        for signal_id, event_id, score in result.result_rows
        if texts.get(signal_id) == event_id
    }


def signal_type_of(client: Client, project_id: str, signal_id: str) -> str | None:
    """The type of a signal in the project, or None when the project has no such signal."""
    result = client.query(
        "SELECT signal_type FROM raw.feedback_events"
        " WHERE project_id = {project_id:String} AND signal_id = {signal_id:UUID} LIMIT 1",
        parameters={"project_id": project_id, "signal_id": signal_id},
    )
    return result.result_rows[0][0] if result.result_rows else None


def content_set_has_signals(client: Client, project_id: str, set_key: str) -> bool:
    result = client.query(
        "SELECT 1 FROM raw.feedback_events"
        " WHERE project_id = {project_id:String} AND content_set = {content_set:String} LIMIT 1",
        parameters={"project_id": project_id, "content_set": set_key},
    )
    return bool(result.result_rows)
