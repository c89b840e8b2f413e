"""Raw feedback events for pipeline tests, written straight into raw.feedback_events."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field

from warehouse.raw_events import COLUMNS


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@dataclass
class RawEvents:
    """Builds operations; ``insert`` writes them. Each operation gets a fresh event id."""

    project_id: str = "p1"
    rows: list[list] = field(default_factory=list)

    def add(
        self,
        signal_id: uuid.UUID,
        operation: str,
        signal_type: str,
        received_at: str | dt.datetime,
        *,
        content_set: str,
        content_key: str = "/a",
        visitor_id: str = "v1",
        value: int | None = None,
        rating_scale: int = 0,
        reaction: str = "",
        message: str = "",
        idempotency_key: str | None = None,
        is_bot: bool = False,
        project_id: str | None = None,
    ) -> uuid.UUID:
        received = at(received_at) if isinstance(received_at, str) else received_at
        self.rows.append([
            uuid.uuid4(), idempotency_key or uuid.uuid4().hex, project_id or self.project_id, content_set,
            content_key, signal_id, operation, signal_type, value, rating_scale, reaction, message, [], "", {},
            visitor_id, is_bot, received, received,
        ])
        return signal_id

    def create(self, signal_type: str, received_at: str | dt.datetime, **kwargs) -> uuid.UUID:
        return self.add(uuid.uuid4(), "create", signal_type, received_at, **kwargs)

    def insert(self, client) -> None:
        if self.rows:
            client.insert("raw.feedback_events", self.rows, column_names=list(COLUMNS))
        self.rows = []


SETS = {
    "votes": ("yesno", {}),
    "thumbs": ("updown", {}),
    "stars": ("rating", {"rating_scale": 5}),
    "likes": ("like", {}),
    "reactions": ("reaction", {}),
    "notes": ("message", {}),
}
REACTIONS = ["thumbs_up", "heart", "confused", "eyes", "rage"]


def random_history(seed: int, project_id: str, days: list[dt.date], signals_per_day: int) -> RawEvents:
    """Creates, edits (also of earlier days' signals), revokes, retries and bots over ``days``."""
    rng = random.Random(seed)
    events = RawEvents(project_id=project_id)
    created: list[tuple[uuid.UUID, str, str, str, str]] = []

    def value_of(signal_type: str) -> dict:
        if signal_type in ("yesno", "updown"):
            return {"value": rng.choice([1, -1])}
        if signal_type == "rating":
            return {"value": rng.randint(1, 5), "rating_scale": 5}
        if signal_type == "like":
            return {"value": 1}
        if signal_type == "reaction":
            return {"reaction": rng.choice(REACTIONS)}
        return {"message": rng.choice(["great docs, thanks", "this is broken and awful", "ok"])}

    for day in days:
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        for _ in range(signals_per_day):
            moment = start + dt.timedelta(seconds=rng.randint(0, 86399))
            content_set = rng.choice(list(SETS))
            signal_type = SETS[content_set][0]
            content_key = rng.choice(["/a", "/b", "/c"])
            visitor = f"v{rng.randint(1, 6)}"
            roll = rng.random()
            if roll < 0.6 or not created:
                key = uuid.uuid4().hex
                signal_id = events.create(
                    signal_type, moment, content_set=content_set, content_key=content_key, visitor_id=visitor,
                    idempotency_key=key, is_bot=rng.random() < 0.05, **value_of(signal_type),
                )
                created.append((signal_id, content_set, signal_type, content_key, visitor))
                if rng.random() < 0.1:  # a retry of the same create
                    events.add(
                        signal_id, "create", signal_type, moment + dt.timedelta(seconds=1), content_set=content_set,
                        content_key=content_key, visitor_id=visitor, idempotency_key=key, **value_of(signal_type),
                    )
            else:
                signal_id, content_set, signal_type, content_key, visitor = rng.choice(created)
                operation = "revoke" if roll > 0.9 else "edit"
                if operation == "edit" and signal_type == "like":
                    operation = "revoke"
                values = value_of(signal_type) if operation == "edit" else {}
                events.add(
                    signal_id, operation, signal_type, moment, content_set=content_set, content_key=content_key,
                    visitor_id=visitor, **values,
                )
    return events
