"""The signal rules, written plainly in Python over raw event rows: what the marts must say.

Used on random histories to check the dbt models (and their incremental builds) against an
independent reading of the contract: bots out; a retried operation counts once (its first
copy); a signal needs its create; its value is the latest create or edit by received_at (an
edit wins a tie); any revoke is final; where one signal per visitor counts, the visitor's newest
signal on a content retires the older ones; a signal counts on its creation day.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ingest_api.stats.measures import value_key  # the keys' names are vocabulary, not rules under test
from tests.pipelines.raw_events import COLUMNS


@dataclass(frozen=True)
class LiveSignal:
    signal_id: object
    content_set: str
    content_key: str
    signal_type: str
    day: dt.date
    value_key: str
    value: int | None


def live_signals(rows: list[list], timezone: str = "UTC", repeatable_sets: set[str] = frozenset()) -> list[LiveSignal]:
    """Live signals of raw rows of one project; sets in ``repeatable_sets`` keep every signal of a
    visitor, other sets follow the domain default (messages repeat, other types count once)."""
    events = [dict(zip(COLUMNS, row)) for row in rows if not row[COLUMNS.index("is_bot")]]
    first_copy: dict[str, dict] = {}
    for event in sorted(events, key=lambda e: e["received_at"]):
        first_copy.setdefault(event["idempotency_key"], event)

    by_signal: dict[object, list[dict]] = defaultdict(list)
    for event in first_copy.values():
        by_signal[event["signal_id"]].append(event)

    signals = []
    for signal_id, operations in by_signal.items():
        creates = [e for e in operations if e["operation"] == "create"]
        if not creates:
            continue
        create = min(creates, key=lambda e: e["received_at"])
        current = max(
            (e for e in operations if e["operation"] in ("create", "edit")),
            key=lambda e: (e["received_at"], e["operation"] == "edit"),
        )
        revoked = any(e["operation"] == "revoke" for e in operations)
        signals.append((create, current, revoked))

    newest: dict[tuple, dict] = {}
    for create, _, _ in signals:
        group = (create["content_set"], create["content_key"], create["signal_type"], create["visitor_id"])
        if group not in newest or create["received_at"] > newest[group]["received_at"]:
            newest[group] = create

    zone = ZoneInfo(timezone)
    live = []
    for create, current, revoked in signals:
        group = (create["content_set"], create["content_key"], create["signal_type"], create["visitor_id"])
        once_per_visitor = create["signal_type"] != "message" and create["content_set"] not in repeatable_sets
        if revoked or (once_per_visitor and newest[group] is not create):
            continue
        live.append(
            LiveSignal(
                signal_id=create["signal_id"],
                content_set=create["content_set"],
                content_key=create["content_key"],
                signal_type=create["signal_type"],
                day=create["received_at"].astimezone(zone).date(),
                value_key=value_key(create["signal_type"], current["value"], current["reaction"]),
                value=current["value"],
            )
        )
    return live


def content_days(signals: list[LiveSignal]) -> dict[tuple, dict]:
    """(content_set, content_key, day, signal_type) → signals, value_counts, value_sum."""
    days: dict[tuple, dict] = {}
    for signal in signals:
        key = (signal.content_set, signal.content_key, signal.day, signal.signal_type)
        day = days.setdefault(key, {"signals": 0, "value_counts": Counter(), "value_sum": 0})
        day["signals"] += 1
        if signal.value_key:
            day["value_counts"][signal.value_key] += 1
        day["value_sum"] += signal.value or 0
    return {key: {**day, "value_counts": dict(day["value_counts"])} for key, day in days.items()}
