"""The checks of the listing's message filters that need the control plane: which tags may be asked.

A tag filter names tags configured on the project's feedback-form (message) content sets: those of
the asked content set, or of any of them when none is asked. Anything else is refused in words.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from feelback.control_plane.models import ContentSet
from feelback.domain import MessageConfig, SignalType
from ingest_api.errors import invalid

MAX_TAGS = 50  # as many as one content set may configure


def configured_tags(session: Session, project_id: str, content_set: str | None) -> list[str]:
    """The tags of the project's message content sets (only ``content_set``'s when given), in order."""
    query = select(ContentSet).where(ContentSet.project_id == project_id, ContentSet.signal_type == SignalType.message)
    if content_set is not None:
        query = query.where(ContentSet.key == content_set)
    tags: dict[str, None] = {}
    for row in session.scalars(query.order_by(ContentSet.key)):
        tags.update(dict.fromkeys(MessageConfig.model_validate(row.config or {}).tags))
    return list(tags)


def checked_tags(session: Session, project_id: str, content_set: str | None, asked: list[str]) -> list[str]:
    """``asked`` without repeats, once each is a configured tag (see ``configured_tags``); else a 422."""
    asked = list(dict.fromkeys(asked))
    if len(asked) > MAX_TAGS:
        raise invalid(f"tag: at most {MAX_TAGS} tags may be asked at once (got {len(asked)})")
    allowed = configured_tags(session, project_id, content_set)
    unknown = [tag for tag in asked if tag not in allowed]
    if unknown:
        shown = unknown[0] if len(unknown[0]) <= 60 else unknown[0][:57] + "..."
        where = f"content set {content_set!r}" if content_set is not None else "the project's feedback forms"
        known = ", ".join(allowed) if allowed else "(none are configured)"
        raise invalid(f"tag: {shown!r} is not a tag of {where} (tags: {known})")
    return asked
