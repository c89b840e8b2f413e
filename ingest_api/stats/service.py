"""The stats of widgets: the marts plus the live delta, with everything a read can reuse kept in memory.

A read costs, in the steady state, no I/O at all:
- keys and content sets are looked up again in the background ``LOOKUP_SECONDS`` after they were
  loaded, while reads go on with the old answer (a revoked key keeps working about that long);
- the marts' rows are cached per build watermark: they change only when a build finishes, and a
  new watermark empties the cache;
- each content set has one live delta (``freshness.SetFreshness``), brought up to date in the
  background when older than ``REFRESH_AFTER`` while it is served, and waited for when older than
  ``MAX_AGE``. Bringing it up to date costs one look at the raw table's parts shared by every set
  (``freshness.RawTail``) and a read of the set's raw events only when rows were inserted for it.
  With the ingest spool inserting within a few hundred milliseconds of acknowledging, every
  operation acknowledged at least 2 s before a read is in it;
- each response body is kept rendered (JSON bytes and ETag) under the delta's version, so a read
  whose numbers did not change since the last identical read only splices in ``as_of``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from clickhouse_connect.driver.client import Client

from feelback.control_plane.keys import KeyKind
from feelback.domain import ContentSetRules, SignalType
from feelback.settings import Settings
from ingest_api.dependencies import authenticate, load_rules_or_refusal, require_public_key
from ingest_api.errors import ApiError, forbidden, invalid
from ingest_api.cache import MemoryCache, RefreshingCache, SingleFlight
from ingest_api.stats.freshness import LiveDelta, RawTail, SetFreshness
from ingest_api.stats.measures import Measures, value_keys
from ingest_api.stats.queries import MartWindow, read_contents, read_set
from ingest_api.stats.windows import Window, WindowBounds, resolve

LOOKUP_SECONDS = 5.0
LOOKUP_STALE_SECONDS = 60.0
REFRESH_AFTER = 0.4
MAX_AGE = 1.2
MART_ENTRIES = 200_000
# Response bodies, each kept while its numbers stay the same (a new delta version or build replaces it).
RENDERED_ENTRIES = 20_000
# Sets with at most this many contents in a window are read whole: one query per set, window and build.
WHOLE_SET_CONTENTS = 20_000
_NOTHING = Measures()  # shared and never changed: readers add to copies
_TOO_MANY = object()


@dataclass(frozen=True)
class Reader:
    """Who reads: the project of the key, its time zone, and whether the key is a secret key."""

    project_id: str
    timezone: str
    secret: bool


@dataclass(frozen=True)
class Rendered:
    """A response body as sent, without ``as_of`` (which changes every refresh), and its weak ETag."""

    json: bytes
    etag: str

    @classmethod
    def of(cls, body: dict[str, Any]) -> Rendered:
        data = orjson.dumps(body)
        return cls(data, f'W/"{hashlib.blake2b(data, digest_size=12).hexdigest()}"')

    def with_as_of(self, as_of: bytes) -> bytes:
        """The body with ``"as_of"`` as its last key: what ``orjson.dumps({**body, "as_of": ...})`` gives."""
        return b"%b,\"as_of\":\"%b\"}" % (self.json[:-1], as_of)


@dataclass(frozen=True)
class Stats:
    """A rendered response body and the live delta it was built from (which gives ``as_of``)."""

    rendered: Rendered
    delta: LiveDelta


def stats_json(measures: Measures, rules: ContentSetRules) -> dict[str, Any]:
    counts = dict.fromkeys(value_keys(rules), 0)
    counts.update({key: count for key, count in sorted(measures.value_counts.items()) if count})
    return {
        "total": measures.signals,
        "counts": counts,
        "average": measures.value_avg if rules.signal_type is SignalType.rating else None,
        "sentiment": {
            "positive": measures.positive_signals,
            "neutral": measures.neutral_signals,
            "negative": measures.negative_signals,
            "unscored": measures.signals - measures.scored_signals,
            "score": measures.sentiment_score,
        },
    }


def iso_instant(moment: dt.datetime | None) -> str | None:
    """An instant as the API writes it (UTC, milliseconds, ``Z``), or None."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


def _heading(rules: ContentSetRules, bounds: WindowBounds, delta: LiveDelta) -> dict[str, Any]:
    heading: dict[str, Any] = {"content_set": rules.key, "signal_type": rules.signal_type.value}
    if rules.signal_type is SignalType.rating:
        heading["rating_scale"] = rules.rating_scale
    return {**heading, "window": bounds.as_json(), "built_through": iso_instant(delta.watermark)}


RANKINGS: dict[str, Callable[[str, Measures], tuple]] = {
    "count": lambda key, m: (-m.signals, key),
    "sentiment": lambda key, m: (m.sentiment_score is None, -(m.sentiment_score or 0.0), -m.signals, key),
    "average": lambda key, m: (m.value_avg is None, -(m.value_avg or 0.0), -m.signals, key),
}


class StatsService:
    """Everything the stats routes share inside one API process."""

    def __init__(self, settings: Settings, sessionmaker: Callable[[], Any]):
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.clock: Callable[[], float] = time.time
        self._client: Client | None = None
        self._lookups = RefreshingCache(LOOKUP_SECONDS, LOOKUP_STALE_SECONDS)
        self._marts = MemoryCache(MART_ENTRIES)
        self._marts_watermark: dt.datetime | None = None
        self._rendered = MemoryCache(RENDERED_ENTRIES)
        self._deltas: dict[tuple[str, str], SetFreshness] = {}
        self._tail = RawTail(REFRESH_AFTER)
        self._loads = SingleFlight()

    @property
    def client(self) -> Client:
        if self._client is None:
            from warehouse.client import get_client

            self._client = get_client(self.settings, send_receive_timeout=30)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    # --- who reads what ------------------------------------------------------------------------

    async def reader(self, header_key: str | None, query_key: str | None, bearer: str | None) -> Reader:
        found = await self._lookups.get(
            ("key", header_key, query_key, bearer), lambda: self._load_reader(header_key, query_key, bearer)
        )
        if isinstance(found, ApiError):
            raise ApiError(found.status, found.code, found.message, found.headers)
        return found

    def _load_reader(self, header_key: str | None, query_key: str | None, bearer: str | None) -> Reader | ApiError:
        with self.sessionmaker() as session:
            try:
                if bearer:
                    auth = authenticate(session, bearer)
                else:
                    auth = require_public_key(session, header_key=header_key, query_key=query_key)
            except ApiError as refused:
                return refused
            return Reader(auth.project_id, auth.project.timezone or "UTC", auth.kind is KeyKind.secret)

    async def content_set(self, reader: Reader, set_key: str) -> ContentSetRules:
        found = await self._lookups.get(("set", reader.project_id, set_key), lambda: self._load_rules(reader.project_id, set_key))
        if isinstance(found, ApiError):
            raise ApiError(found.status, found.code, found.message, found.headers)
        if not found.public_stats and not reader.secret:
            raise forbidden(
                f'content set "{set_key}" has private stats: read them with a secret key of the project '
                "(Authorization: Bearer fb_sk_...) from your server, or make its stats public",
                code="private_stats",
            )
        return found

    def _load_rules(self, project_id: str, set_key: str) -> ContentSetRules | ApiError:
        return load_rules_or_refusal(self.sessionmaker, project_id, set_key)

    # --- the live delta ------------------------------------------------------------------------

    async def live_delta(self, reader: Reader, rules: ContentSetRules) -> LiveDelta:
        key = (reader.project_id, rules.key)
        tracker = self._deltas.get(key)
        if tracker is None:
            tracker = self._deltas[key] = SetFreshness(reader.project_id, rules.key)
        latest = tracker.latest
        age = self.clock() - latest.checked_at.timestamp() if latest else None

        def refresh() -> LiveDelta:
            return tracker.refresh(self.client, self._tail, rules, reader.timezone, self.now())

        if age is not None and age < MAX_AGE:
            if age >= REFRESH_AFTER:
                self._loads.start(("delta", key), refresh)
            return latest
        return await self._loads.run(("delta", key), refresh)

    # --- the marts, per build ------------------------------------------------------------------

    def _mart_cache_for(self, watermark: dt.datetime) -> MemoryCache:
        if self._marts_watermark is None or watermark > self._marts_watermark:  # a new build: old rows are dead
            self._marts.clear()
            self._marts_watermark = watermark
        return self._marts

    async def mart_contents(
        self, reader: Reader, rules: ContentSetRules, bounds: WindowBounds, delta: LiveDelta, contents: list[str]
    ) -> dict[str, Measures]:
        """The window's mart measures of ``contents``: from the set's rows, read whole once per build
        and window when the set has at most ``WHOLE_SET_CONTENTS`` contents, else per content."""
        if delta.watermark is None:  # nothing built yet: the delta is everything
            return dict.fromkeys(contents, _NOTHING)
        whole = await self.mart_set_contents(reader, rules, bounds, delta, limit=WHOLE_SET_CONTENTS)
        if whole is not None:
            return {content: whole.get(content, _NOTHING) for content in contents}
        cache = self._mart_cache_for(delta.watermark)
        window = MartWindow.of(bounds, delta.watermark)
        base = (delta.watermark, reader.project_id, rules.key, window)
        found = {content: cache.get(base + (content,)) for content in contents}
        missing = [content for content, measures in found.items() if measures is None]
        if missing:
            rows = await self._loads.run(
                base + tuple(missing),
                lambda: read_contents(self.client, reader.project_id, rules.key, window, missing),
            )
            for content in missing:
                found[content] = rows.get(content, _NOTHING)
                cache.put(base + (content,), found[content])
        return found

    async def mart_set_contents(
        self, reader: Reader, rules: ContentSetRules, bounds: WindowBounds, delta: LiveDelta, limit: int | None = None
    ) -> dict[str, Measures] | None:
        """Every content of the set with rows in the window; None when there are more than ``limit``."""
        if delta.watermark is None:
            return {}
        cache = self._mart_cache_for(delta.watermark)
        window = MartWindow.of(bounds, delta.watermark)
        key = (delta.watermark, reader.project_id, rules.key, window, "every content")
        rows = cache.get(key)
        if rows is None or (rows is _TOO_MANY and limit is None):
            cap = None if rows is _TOO_MANY else limit
            rows = await self._loads.run(
                key + (cap,), lambda: read_contents(self.client, reader.project_id, rules.key, window, None, cap)
            )
            cache.put(key, _TOO_MANY if rows is None else rows)
        return None if rows is _TOO_MANY else rows

    async def mart_set(self, reader: Reader, rules: ContentSetRules, bounds: WindowBounds, delta: LiveDelta) -> Measures:
        if delta.watermark is None:
            return Measures()
        cache = self._mart_cache_for(delta.watermark)
        window = MartWindow.of(bounds, delta.watermark)
        key = (delta.watermark, reader.project_id, rules.key, window, "set")
        measures = cache.get(key)
        if measures is None:
            measures = await self._loads.run(key, lambda: read_set(self.client, reader.project_id, rules.key, window))
            cache.put(key, measures)
        return measures

    # --- reads ---------------------------------------------------------------------------------

    def _rendered_for(self, key: tuple, rules: ContentSetRules) -> Rendered | None:
        """The body cached under ``key`` (which holds the delta's version, so the numbers are the
        same), if it was rendered with these rules (compared by identity first: cheap)."""
        entry = self._rendered.get(key)
        if entry is None:
            return None
        if entry[0] is not rules:
            if entry[0] != rules:
                return None
            self._rendered.put(key, (rules, entry[1]))  # the same rules, reloaded: compare by identity again
        return entry[1]

    def _render(self, key: tuple, rules: ContentSetRules, body: dict[str, Any]) -> Rendered:
        rendered = Rendered.of(body)
        self._rendered.put(key, (rules, rendered))
        return rendered

    async def content_stats(self, reader: Reader, rules: ContentSetRules, content_key: str, window: Window) -> Stats:
        bounds = resolve(window, reader.timezone, self.now())
        delta = await self.live_delta(reader, rules)
        key = ("content", reader.project_id, rules.key, bounds, delta.version, content_key)
        rendered = self._rendered_for(key, rules)
        if rendered is None:
            marts = await self.mart_contents(reader, rules, bounds, delta, [content_key])
            measures = marts[content_key].copy().add(delta.of_content(content_key, bounds))
            body = {**_heading(rules, bounds, delta), "content_key": content_key, **stats_json(measures, rules)}
            rendered = self._render(key, rules, body)
        return Stats(rendered, delta)

    async def batch_stats(self, reader: Reader, rules: ContentSetRules, contents: list[str], window: Window) -> Stats:
        bounds = resolve(window, reader.timezone, self.now())
        delta = await self.live_delta(reader, rules)
        key = ("batch", reader.project_id, rules.key, bounds, delta.version, tuple(contents))
        rendered = self._rendered_for(key, rules)
        if rendered is None:
            marts = await self.mart_contents(reader, rules, bounds, delta, contents)
            by_content = {
                content: stats_json(marts[content].copy().add(delta.of_content(content, bounds)), rules)
                for content in contents
            }
            rendered = self._render(key, rules, {**_heading(rules, bounds, delta), "contents": by_content})
        return Stats(rendered, delta)

    async def set_stats(self, reader: Reader, rules: ContentSetRules, window: Window) -> Stats:
        bounds = resolve(window, reader.timezone, self.now())
        delta = await self.live_delta(reader, rules)
        key = ("set", reader.project_id, rules.key, bounds, delta.version)
        rendered = self._rendered_for(key, rules)
        if rendered is None:
            measures = (await self.mart_set(reader, rules, bounds, delta)).copy().add(delta.of_set(bounds))
            rendered = self._render(key, rules, {**_heading(rules, bounds, delta), **stats_json(measures, rules)})
        return Stats(rendered, delta)

    async def top(
        self, reader: Reader, rules: ContentSetRules, window: Window, by: str, limit: int, min_total: int
    ) -> Stats:
        if by == "average" and rules.signal_type is not SignalType.rating:
            raise invalid(f'by: "average" ranks ratings; content set "{rules.key}" holds {rules.signal_type.value} signals')
        bounds = resolve(window, reader.timezone, self.now())
        delta = await self.live_delta(reader, rules)
        key = ("top", reader.project_id, rules.key, bounds, delta.version, by, limit, min_total)
        rendered = self._rendered_for(key, rules)
        if rendered is None:
            marts = await self.mart_set_contents(reader, rules, bounds, delta)
            merged = {
                content: (marts.get(content) or Measures()).copy().add(delta.of_content(content, bounds))
                for content in marts.keys() | delta.by_content.keys()
            }
            ranked = sorted(
                ((content, measures) for content, measures in merged.items() if measures.signals >= max(min_total, 1)),
                key=lambda item: RANKINGS[by](*item),
            )[:limit]
            items = [{"content_key": content, **stats_json(measures, rules)} for content, measures in ranked]
            rendered = self._render(key, rules, {**_heading(rules, bounds, delta), "by": by, "items": items})
        return Stats(rendered, delta)
