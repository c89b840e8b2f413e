"""Live numbers: the operations acknowledged since the last build, as a delta on the marts.

The marts hold every raw event received up to the build's watermark. For one content set, the
delta is what the next build would change, per content and day:

1. *Fresh events*: the set's raw events received after the watermark less dbt's late-arrival
   margin, without bots, each idempotency key once (its first copy), and without the operations
   the build already staged (``stg_feedback_events`` up to the watermark; this also drops late
   retries of built operations). Read again only when rows were inserted for the set (``RawTail``),
   and then incrementally: the last minute again, adding the keys not seen yet.
2. *Prior state*: the fct_signals rows (what the marts count) of every signal the fresh events
   edit or revoke and, in one-signal-per-visitor sets, of every visitor who created a signal on a
   content; int_signal_lifecycle gives the newest signal of those visitors even if revoked (a newer
   signal retires older ones for good). Read once per watermark and signal/visitor.
3. *Fold*, with int_signal_lifecycle's and int_signal_current_state's rules: a create adds a
   signal; the latest edit (by received_at) gives the value; any revoke removes the signal; an
   operation on a signal that is not live (unknown, revoked, retired) changes nothing; per visitor
   only the newest signal lives. The delta is the live signals' measures minus the prior rows'
   measures, on the day each signal was created (project time zone).

Messages created or edited after the build are counted but unscored until the pipeline scores them.

ClickHouse has no snapshot across tables: while a build rewrites the marts, and for one refresh
after it, a read may count an operation twice or not at all; the next refresh sets it right.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import cached_property
from zoneinfo import ZoneInfo

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from feelback.domain import ContentSetRules
from ingest_api.stats.measures import Measures, sentiment, total, value_key
from ingest_api.stats.queries import MARTS, STAGING, read_watermark, utc
from ingest_api.stats.windows import WindowBounds

# dbt_project.yml's late_arrival_minutes: a build re-reads this much before the last watermark, for
# events acknowledged before it but inserted after it.
LATE_ARRIVAL = dt.timedelta(minutes=10)
# An incremental refresh reads again this much before the previous one, for inserts that land
# after a refresh with an earlier received_at (the ingest spool inserts within about a second).
REFETCH_OVERLAP = dt.timedelta(seconds=60)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

_EVENT_COLUMNS = """event_id, idempotency_key, content_key, signal_id, operation, signal_type, value,
        rating_scale, reaction, visitor_id, occurred_at, received_at"""

# The set's raw events since ``since``, without bots, each idempotency key once (its first copy).
# Before the first build there is nothing to subtract: these are all fresh.
ALL_EVENTS = f"""
SELECT {_EVENT_COLUMNS}
FROM raw.feedback_events
WHERE project_id = {{project_id:String}} AND content_set = {{content_set:String}}
  AND received_at > {{since:DateTime64(3, 'UTC')}}
  AND NOT is_bot
ORDER BY received_at, event_id
LIMIT 1 BY idempotency_key
"""

# ... less the operations the build already staged.
FRESH_EVENTS = f"""
WITH fresh AS ({ALL_EVENTS})
SELECT {_EVENT_COLUMNS}
FROM fresh
WHERE idempotency_key NOT IN (
    SELECT idempotency_key
    FROM {STAGING}.stg_feedback_events
    WHERE project_id = {{project_id:String}} AND content_set = {{content_set:String}}
      AND (content_key, signal_id) IN (SELECT content_key, signal_id FROM fresh)
      AND received_at <= {{watermark:DateTime64(3, 'UTC')}}
)
ORDER BY received_at, event_id
"""

PRIOR_SIGNALS = f"""
SELECT content_key, visitor_id, signal_id, signal_type, day, value, rating_scale, reaction, value_key,
       sentiment, created_at, updated_at
FROM {MARTS}.fct_signals
WHERE project_id = {{project_id:String}} AND content_set = {{content_set:String}}
  AND content_key IN {{contents:Array(String)}}
  AND (signal_id IN {{signals:Array(UUID)}} OR visitor_id IN {{visitors:Array(String)}})
"""

NEWEST_OF_VISITORS = f"""
SELECT content_key, visitor_id, signal_type, max(created_at) AS newest_at,
       argMax(signal_id, created_at) AS newest_id
FROM {STAGING}.int_signal_lifecycle
WHERE project_id = {{project_id:String}} AND content_set = {{content_set:String}}
  AND (content_key, visitor_id) IN {{groups:Array(Tuple(String, String))}}
GROUP BY content_key, visitor_id, signal_type
"""

SignalKey = tuple[str, uuid.UUID]  # (content_key, signal_id)
VisitorKey = tuple[str, str]  # (content_key, visitor_id)


@dataclass(frozen=True)
class Event:
    event_id: uuid.UUID
    idempotency_key: str
    content_key: str
    signal_id: uuid.UUID
    operation: str
    signal_type: str
    value: int | None
    rating_scale: int
    reaction: str
    visitor_id: str
    occurred_at: dt.datetime
    received_at: dt.datetime

    @property
    def signal(self) -> SignalKey:
        return (self.content_key, self.signal_id)

    @property
    def order(self) -> tuple:
        # int_signal_lifecycle's order of values: received_at, then an edit over a create, occurred_at, event id
        return (self.received_at, self.operation == "edit", self.occurred_at, str(self.event_id))


@dataclass
class Signal:
    """One signal's state as the marts count it (or would, after the next build)."""

    content_key: str
    signal_id: uuid.UUID
    visitor_id: str
    signal_type: str
    day: dt.date
    created_at: dt.datetime
    updated_at: dt.datetime
    value: int | None
    rating_scale: int
    reaction: str
    value_key: str
    sentiment: float | None
    live: bool = True

    @property
    def key(self) -> SignalKey:
        return (self.content_key, self.signal_id)

    @property
    def group(self) -> tuple[str, str, str]:
        return (self.content_key, self.visitor_id, self.signal_type)

    def measures(self) -> Measures:
        return Measures.of_signal(self.value_key, self.value, self.sentiment)

    def with_value(self, event: Event, rules: ContentSetRules) -> Signal:
        return replace(
            self,
            updated_at=event.received_at,
            value=event.value,
            rating_scale=event.rating_scale,
            reaction=event.reaction,
            value_key=value_key(self.signal_type, event.value, event.reaction),
            sentiment=sentiment(rules, self.signal_type, event.value, event.rating_scale, event.reaction),
        )


@dataclass(frozen=True)
class LiveDelta:
    """What the events since ``watermark`` add to the marts, per content and day."""

    watermark: dt.datetime | None
    checked_at: dt.datetime  # every event inserted before this instant is included
    version: str
    by_content: dict[str, dict[dt.date, Measures]]
    by_day: dict[dt.date, Measures]  # the whole set's

    @classmethod
    def of(cls, watermark: dt.datetime | None, checked_at: dt.datetime, version: str,
           by_content: dict[str, dict[dt.date, Measures]]) -> LiveDelta:  # fmt: skip
        by_day: dict[dt.date, Measures] = defaultdict(Measures)
        for days in by_content.values():
            for day, measures in days.items():
                by_day[day].add(measures)
        return cls(watermark, checked_at, version, by_content, dict(by_day))

    @cached_property
    def as_of(self) -> bytes:
        """``checked_at`` as responses show it (ISO, milliseconds, UTC as Z), made once per refresh."""
        return self.checked_at.isoformat(timespec="milliseconds").replace("+00:00", "Z").encode()

    def of_content(self, content_key: str, bounds: WindowBounds) -> Measures:
        days = self.by_content.get(content_key, {})
        return total(measures for day, measures in days.items() if bounds.contains(day))

    def of_set(self, bounds: WindowBounds) -> Measures:
        return total(measures for day, measures in self.by_day.items() if bounds.contains(day))


RAW_PARTS = """
SELECT name, max_block_number
FROM system.parts
WHERE database = 'raw' AND table = 'feedback_events' AND active
"""

SETS_IN_PARTS = """
SELECT DISTINCT project_id, content_set
FROM raw.feedback_events
WHERE _part IN {parts:Array(String)}
"""

SetKey = tuple[str, str]  # (project_id, content_set)


class RawTail:
    """What changed since a set's last refresh, from one cheap look for every set at most every
    ``seconds`` (thread-safe): the build watermark, and the content sets of the raw rows inserted
    since the previous look (the rows of parts with newer block numbers; a merge that includes new
    blocks only makes a few sets look changed for nothing). When the parts cannot be read (e.g. a
    table that is not a local MergeTree), every set counts as changed at every look."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.watermark: dt.datetime | None = None
        self._lock = threading.Lock()
        self._looked_at = float("-inf")
        self._looked_at_utc = _EPOCH
        self._max_block: int | None = None
        self._changed: set[SetKey] = set()
        self._all_changed = 0  # looks that could not tell which sets changed

    def look(self, client: Client, now: dt.datetime) -> dt.datetime:
        """Look (unless a look began less than ``seconds`` ago); returns when the last look began:
        every row inserted before it is in the sets marked changed."""
        with self._lock:
            if time.monotonic() - self._looked_at > self.seconds:
                started = time.monotonic()
                self.watermark = read_watermark(client)
                self._note_inserts(client)
                self._looked_at, self._looked_at_utc = started, now
            return self._looked_at_utc

    def _note_inserts(self, client: Client) -> None:
        try:
            parts = client.query(RAW_PARTS).result_rows
        except DatabaseError:
            self._all_changed += 1
            return
        newest = max((block for _, block in parts), default=0)
        if self._max_block is not None and newest <= self._max_block:
            return
        new = [name for name, block in parts if self._max_block is None or block > self._max_block]
        if self._max_block is None:
            self._all_changed += 1  # the first look knows nothing of before
        elif new:
            self._changed.update(tuple(row) for row in client.query(SETS_IN_PARTS, parameters={"parts": new}).result_rows)
        self._max_block = newest

    def take(self, key: SetKey, seen: int) -> tuple[bool, int]:
        """Whether set ``key`` changed since its refresh that saw ``seen``; and what it sees now."""
        with self._lock:
            changed = key in self._changed or seen != self._all_changed
            self._changed.discard(key)
            return changed, self._all_changed

    def mark(self, key: SetKey) -> None:
        with self._lock:
            self._changed.add(key)


@dataclass
class _PriorState:
    """fct_signals rows and newest lifecycle signals for one watermark, read once each."""

    signals: dict[SignalKey, Signal] = field(default_factory=dict)
    fetched_signals: set[SignalKey] = field(default_factory=set)
    fetched_visitors: set[VisitorKey] = field(default_factory=set)
    newest: dict[tuple[str, str, str], tuple[dt.datetime, uuid.UUID]] = field(default_factory=dict)


class SetFreshness:
    """The live delta of one content set; ``refresh`` runs in a worker thread, one at a time."""

    def __init__(self, project_id: str, content_set: str):
        self.project_id = project_id
        self.content_set = content_set
        self._watermark: dt.datetime | None | object = object()  # nothing read yet
        self._events: dict[str, Event] = {}  # by idempotency key
        self._contents: dict[str, list[Event]] = defaultdict(list)
        self._prior = _PriorState()
        self._fetched_at: dt.datetime | None = None
        self._delta: dict[str, dict[dt.date, Measures]] = {}
        self._folded_with: tuple[ContentSetRules, str] | None = None
        self._generation = 0
        self._seen = -1
        self.latest: LiveDelta | None = None

    def refresh(self, client: Client, tail: RawTail, rules: ContentSetRules, timezone: str, now: dt.datetime) -> LiveDelta:
        """The delta as of the tail's look, on the marts of its watermark. Only contents with new
        events are folded again (every key of the signal rules lies within one content)."""
        checked_at = tail.look(client, now)
        watermark = tail.watermark
        changed, self._seen = tail.take((self.project_id, self.content_set), self._seen)
        try:
            if watermark != self._watermark:
                self._watermark, self._events, self._contents = watermark, {}, defaultdict(list)
                self._prior, self._fetched_at, self._delta, self._folded_with = _PriorState(), None, {}, None
            touched = self._fetch_events(client, watermark, now) if changed or self._fetched_at is None else set()
            if self._folded_with != (rules, timezone):
                touched = set(self._contents)
            if touched or self.latest is None or self._folded_with is None:
                self._delta.update(self._fold(client, watermark, rules, ZoneInfo(timezone or "UTC"), touched))
                self._folded_with = (rules, timezone)
                self._generation += 1
                version = f"{watermark.isoformat() if watermark else 'unbuilt'}/{self._generation}"
                self.latest = LiveDelta.of(watermark, checked_at, version, dict(self._delta))
            else:
                self.latest = replace(self.latest, checked_at=checked_at)
        except Exception:
            tail.mark((self.project_id, self.content_set))  # fetch again next time
            raise
        return self.latest

    # --- 1. fresh events ----------------------------------------------------------------------

    def _fetch_events(self, client: Client, watermark: dt.datetime | None, now: dt.datetime) -> set[str]:
        """Add the events not seen yet; returns the contents that got some."""
        since = (watermark - LATE_ARRIVAL) if watermark else _EPOCH
        if self._fetched_at is not None:
            since = max(since, self._fetched_at - REFETCH_OVERLAP)
        parameters = {
            "project_id": self.project_id,
            "content_set": self.content_set,
            "since": since,
            "watermark": watermark or _EPOCH,
        }
        touched = set()
        for row in client.query(FRESH_EVENTS if watermark else ALL_EVENTS, parameters=parameters).named_results():
            if row["idempotency_key"] not in self._events:
                event = Event(**{**row, "occurred_at": utc(row["occurred_at"]), "received_at": utc(row["received_at"])})
                self._events[event.idempotency_key] = event
                self._contents[event.content_key].append(event)
                touched.add(event.content_key)
        self._fetched_at = now
        return touched

    # --- 2. prior state -----------------------------------------------------------------------

    def _read_prior(self, client: Client, signals: set[SignalKey], visitors: set[VisitorKey]) -> _PriorState:
        prior = self._prior
        signals, visitors = signals - prior.fetched_signals, visitors - prior.fetched_visitors
        if not signals and not visitors:
            return prior
        base = {"project_id": self.project_id, "content_set": self.content_set}
        contents = sorted({key[0] for key in signals} | {key[0] for key in visitors})
        result = client.query(
            PRIOR_SIGNALS,
            parameters={
                **base,
                "contents": contents,
                "signals": sorted({signal_id for _, signal_id in signals}),
                "visitors": sorted({visitor for _, visitor in visitors}),
            },
        )
        for row in result.named_results():
            signal = Signal(
                **{name: row[name] for name in ("content_key", "signal_id", "visitor_id", "signal_type", "day", "value",
                                                "rating_scale", "reaction", "value_key", "sentiment")},
                created_at=utc(row["created_at"]),
                updated_at=utc(row["updated_at"]),
            )  # fmt: skip
            if signal.key in signals or (signal.content_key, signal.visitor_id) in visitors:
                prior.signals[signal.key] = signal
        if visitors:
            result = client.query(NEWEST_OF_VISITORS, parameters={**base, "groups": sorted(visitors)})
            for row in result.named_results():
                prior.newest[(row["content_key"], row["visitor_id"], row["signal_type"])] = (
                    utc(row["newest_at"]),
                    row["newest_id"],
                )
        prior.fetched_signals |= signals
        prior.fetched_visitors |= visitors
        return prior

    # --- 3. fold ------------------------------------------------------------------------------

    def _fold(
        self, client: Client, watermark: dt.datetime | None, rules: ContentSetRules, zone: ZoneInfo, contents: set[str]
    ) -> dict[str, dict[dt.date, Measures]]:
        """The delta of ``contents``, each from all of its fresh events."""
        events = sorted((event for content in contents for event in self._contents[content]), key=lambda event: event.order)
        if not events:
            return {}
        creates: dict[SignalKey, Event] = {}
        for event in events:
            if event.operation == "create":
                creates.setdefault(event.signal, event)

        touched = {event.signal for event in events if event.operation != "create"} - creates.keys()
        visitors = {(event.content_key, event.visitor_id) for event in creates.values()} if rules.one_per_visitor else set()
        prior = self._read_prior(client, touched, visitors) if watermark else _PriorState()

        before = [
            signal
            for key, signal in prior.signals.items()
            if key in touched or (signal.content_key, signal.visitor_id) in visitors
        ]
        state: dict[SignalKey, Signal] = {signal.key: replace(signal) for signal in before}  # copies: prior is kept
        for key, event in creates.items():
            if key not in prior.signals:  # a create already built cannot be fresh; be safe anyway
                state[key] = self._created(event, rules, zone)

        for event in events:
            signal = state.get(event.signal)
            if signal is None:
                continue  # not live (unknown, revoked or retired before the build): no effect
            if event.operation == "edit" and event.received_at >= signal.updated_at:
                state[event.signal] = signal = signal.with_value(event, rules)
            elif event.operation == "revoke":
                signal.live = False

        if rules.one_per_visitor:
            self._retire_older(state, creates, prior)

        delta: dict[str, dict[dt.date, Measures]] = {content: defaultdict(Measures) for content in contents}
        for signal in before:
            delta[signal.content_key][signal.day].add(signal.measures(), -1)
        for signal in state.values():
            if signal.live:
                delta[signal.content_key][signal.day].add(signal.measures())
        return {content: dict(days) for content, days in delta.items()}

    @staticmethod
    def _created(event: Event, rules: ContentSetRules, zone: ZoneInfo) -> Signal:
        signal = Signal(
            content_key=event.content_key,
            signal_id=event.signal_id,
            visitor_id=event.visitor_id,
            signal_type=event.signal_type,
            day=event.received_at.astimezone(zone).date(),
            created_at=event.received_at,
            updated_at=event.received_at,
            value=None,
            rating_scale=0,
            reaction="",
            value_key="",
            sentiment=None,
        )
        return signal.with_value(event, rules)

    @staticmethod
    def _retire_older(state: dict[SignalKey, Signal], creates: dict[SignalKey, Event], prior: _PriorState) -> None:
        """Where a visitor created a signal, only their newest signal on that content lives."""
        newest: dict[tuple[str, str, str], tuple[dt.datetime, str, SignalKey]] = {}
        for group, (created_at, signal_id) in prior.newest.items():
            newest[group] = (created_at, str(signal_id), (group[0], signal_id))
        for key in creates:
            signal = state[key]
            candidate = (signal.created_at, str(signal.signal_id), key)
            if signal.group not in newest or candidate[:2] > newest[signal.group][:2]:
                newest[signal.group] = candidate
        for signal in state.values():
            if signal.group in newest and newest[signal.group][2] != signal.key:
                signal.live = False
