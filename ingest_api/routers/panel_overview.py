"""``GET /v1/projects/{project_id}/overview``: what the panel's overview shows, in one read.

For a window (7/30/90 days ending today, or the current calendar week, month or year, in the
project's time zone) and every content set of the project (or one): the set's stats as the stats
API gives them (totals, value counts, average, sentiment) and the previous period's totals to
compare with, signals per day by sentiment, and the contents with most signals and with the best
and worst sentiment. Numbers come from the same place as the stats API's: the last build's marts
(``agg_content_set_daily`` per day; ``agg_content_*`` per content, ranked by ClickHouse once per
build, see ingest_api/stats/rankings.py) plus the live delta since the build, so they equal the
stats API's and are fresh within seconds. The sets are read concurrently. The previous period of a rolling window is the same number of days before it; of a
calendar window, the previous week, month or year.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from typing import Annotated, Literal

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from feelback.control_plane.models import ContentSet, Project
from feelback.domain import ContentSetRules
from ingest_api.cache import MemoryCache
from ingest_api.auth.permissions import authorize, current_project
from ingest_api.dependencies import DbSession, rules_of
from ingest_api.errors import ApiError, invalid
from ingest_api.routers.stats import RankedContent, SentimentOut, StatsOut, WindowOut, service_of
from ingest_api.stats.freshness import LiveDelta
from ingest_api.stats.measures import Measures
from ingest_api.stats.rankings import BuiltRankings, Ranked, SetDelta
from ingest_api.stats.queries import MARTS, _SUMS, MartWindow, _missing_relation
from ingest_api.stats.service import Reader, StatsService, iso_instant, stats_json
from ingest_api.stats.windows import Window, WindowBounds, resolve

router = APIRouter(prefix="/v1/projects/{project_id}", tags=["panel"], dependencies=[Depends(authorize)])

OverviewWindow = Literal["7d", "30d", "90d", "week", "month", "year"]
RANKED = 5
DAY_ROWS_CACHED = 2_000
# Rankings of a project's sets in a window per build: the first RANKING_DEPTH (at least) of each order.
RANKINGS_CACHED = 1_000
RANKING_DEPTH = 100


class PeriodOut(BaseModel):
    start: str = Field(description="First day (ISO date)")
    end: str = Field(description="Last day (ISO date, inclusive)")


class TotalsOut(BaseModel):
    signals: int
    previous_signals: int = Field(description="Signals in the previous period")
    score: float | None = Field(description="Mean sentiment on [-1, 1]; null without scored signals")
    previous_score: float | None


class DayOut(BaseModel):
    day: str = Field(description="ISO date in the project's time zone")
    positive: int
    neutral: int
    negative: int
    unscored: int = Field(description="Signals without a sentiment yet (messages before scoring)")


class MoverOut(BaseModel):
    content_key: str
    total: int = Field(description="Signals in the window")
    previous_total: int = Field(description="Signals in the previous period")


class SetOverviewOut(StatsOut):
    content_set: str
    name: str
    signal_type: str
    rating_scale: int | None = None
    previous_total: int
    previous_average: float | None
    top: list[RankedContent] = Field(description="Contents with most signals")
    best: list[RankedContent] = Field(description="Contents with the highest sentiment score")
    worst: list[RankedContent] = Field(description="Contents with the lowest sentiment score")
    movers: list[MoverOut] = Field(description="Contents whose signal count changed most against the previous period")


class OverviewOut(BaseModel):
    content_key: str | None = Field(None, description="The one content read, when content_key was given")
    window: WindowOut
    previous: PeriodOut
    totals: TotalsOut
    days: list[DayOut] = Field(description="Every day of the window up to today, oldest first")
    sets: list[SetOverviewOut]
    built_through: str | None = Field(description="Watermark of the last build (oldest of the sets')")
    as_of: str = Field(description="When the events since the build were read (oldest of the sets')")


def previous_period(bounds: WindowBounds) -> WindowBounds:
    """The period before ``bounds``: as many days for rolling windows, the previous calendar period otherwise."""
    start = bounds.start
    assert start is not None
    if bounds.window is Window.month:
        end = start - dt.timedelta(days=1)
        return WindowBounds(bounds.window, bounds.timezone, bounds.today, end.replace(day=1), end)
    if bounds.window is Window.year:
        return WindowBounds(bounds.window, bounds.timezone, bounds.today, start.replace(year=start.year - 1), start - dt.timedelta(days=1))
    days = (bounds.end - start).days + 1
    return WindowBounds(bounds.window, bounds.timezone, bounds.today, start - dt.timedelta(days=days), start - dt.timedelta(days=1))


def read_set_days(
    client: Client, project_id: str, sets: list[str], start: dt.date, end: dt.date, content_key: str | None = None
) -> dict[tuple[str, dt.date], Measures]:
    """The built measures per (content set, day) from ``agg_content_set_daily`` (of one content from
    ``agg_content_daily`` when ``content_key`` is given); empty before the first build."""
    table, only = ("agg_content_set_daily", "") if content_key is None else ("agg_content_daily", "AND content_key = {content_key:String}")
    sql = f"""
        SELECT content_set, day, {_SUMS}
        FROM {MARTS}.{table}
        WHERE project_id = {{project_id:String}} AND content_set IN {{sets:Array(String)}} {only}
          AND day BETWEEN {{start:Date}} AND {{end:Date}}
        GROUP BY content_set, day"""
    parameters = {"project_id": project_id, "sets": sets, "start": start, "end": end, "content_key": content_key}
    try:
        result = client.query(sql, parameters=parameters)
    except ClickHouseError as exc:
        if _missing_relation(exc):
            return {}
        raise
    return {(row["content_set"], row["day"]): Measures.from_row(row) for row in result.named_results()}


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=offset) for offset in range((end - start).days + 1)]


def _in(bounds: WindowBounds, by_day: dict[dt.date, Measures]) -> Measures:
    result = Measures()
    for day, measures in by_day.items():
        if bounds.contains(day):
            result.add(measures)
    return result


class Overview:
    """One overview read: the sets' live deltas, their built days, and what they add up to."""

    def __init__(self, app: FastAPI, project: Project, window: Window, content_key: str | None = None):
        self.content_key = content_key
        self.service: StatsService = service_of(app)
        self.cache = _app_cache(app, "panel_days", DAY_ROWS_CACHED)
        self.rankings = _app_cache(app, "panel_rankings", RANKINGS_CACHED)
        self.reader = Reader(project.id, project.timezone or "UTC", secret=True)
        self.bounds = resolve(window, self.reader.timezone, self.service.now())
        self.previous = previous_period(self.bounds)

    async def built_days(self, sets: list[str], watermark: dt.datetime | None) -> dict[tuple[str, dt.date], Measures]:
        if watermark is None or not sets:
            return {}
        key = (watermark, self.reader.project_id, tuple(sets), self.previous.start, self.bounds.end, self.content_key)
        found = self.cache.get(key)
        if found is None:
            found = await run_in_threadpool(
                read_set_days, self.service.client, self.reader.project_id, sets, self.previous.start, self.bounds.end, self.content_key
            )
            self.cache.put(key, found)
        return found

    async def read(self, content_sets: list[ContentSet]) -> OverviewOut:
        rules = {content_set.key: rules_of(content_set) for content_set in content_sets}
        # Independent reads run together: the sets' deltas, then the built days and every set's rankings.
        found = await asyncio.gather(*(self.service.live_delta(self.reader, rule) for rule in rules.values()))
        deltas: dict[str, LiveDelta] = dict(zip(rules, found, strict=True))
        watermarks = [delta.watermark for delta in deltas.values() if delta.watermark is not None]
        built, ranked = await asyncio.gather(
            self.built_days([key for key, delta in deltas.items() if delta.watermark], min(watermarks, default=None)),
            self._rankings(deltas),
        )

        by_day: dict[str, dict[dt.date, Measures]] = {key: defaultdict(Measures) for key in rules}
        for (set_key, day), measures in built.items():
            if deltas[set_key].watermark is not None:
                by_day[set_key][day].add(measures)
        for set_key, delta in deltas.items():
            live = delta.by_day if self.content_key is None else delta.by_content.get(self.content_key, {})
            for day, measures in live.items():
                by_day[set_key][day].add(measures)

        sets_out, now_total, before_total = [], Measures(), Measures()
        for content_set in content_sets:
            rule, days = rules[content_set.key], by_day[content_set.key]
            current, before = _in(self.bounds, days), _in(self.previous, days)
            now_total.add(current)
            before_total.add(before)
            sets_out.append(self._set_out(content_set, rule, ranked.get(content_set.key), current, before))

        last_day = min(self.bounds.end, self.bounds.today)
        day_rows = []
        for day in _days(self.bounds.start, last_day):  # type: ignore[arg-type]
            measures = Measures()
            for days in by_day.values():
                measures.add(days.get(day, Measures()))
            day_rows.append(
                DayOut(
                    day=day.isoformat(),
                    positive=measures.positive_signals,
                    neutral=measures.neutral_signals,
                    negative=measures.negative_signals,
                    unscored=measures.signals - measures.scored_signals,
                )
            )
        checked = [delta.checked_at for delta in deltas.values()]
        return OverviewOut(
            content_key=self.content_key,
            window=WindowOut(**self.bounds.as_json()),
            previous=PeriodOut(start=self.previous.start.isoformat(), end=self.previous.end.isoformat()),  # type: ignore[union-attr]
            totals=TotalsOut(
                signals=now_total.signals,
                previous_signals=before_total.signals,
                score=now_total.sentiment_score,
                previous_score=before_total.sentiment_score,
            ),
            days=day_rows,
            sets=sets_out,
            built_through=iso_instant(min(watermarks, default=None)),
            as_of=iso_instant(min(checked, default=self.service.now())) or "",
        )

    async def _rankings(self, deltas: dict[str, LiveDelta]) -> dict[str, Ranked]:
        """Every set's rankings (none for one content's overview); sets whose deltas stand on
        different builds (for a moment after a build) are ranked per build."""
        if self.content_key is not None:
            return {}
        by_build: dict[dt.datetime | None, dict[str, LiveDelta]] = defaultdict(dict)
        for key, delta in deltas.items():
            by_build[delta.watermark][key] = delta
        found: dict[str, Ranked] = {}
        for watermark, group in by_build.items():
            found.update(await self._rankings_of(watermark, group))
        return found

    async def _rankings_of(self, watermark: dt.datetime | None, deltas: dict[str, LiveDelta]) -> dict[str, Ranked]:
        """The built rankings (read once per build, deeper when the delta touches too many of
        them) merged with the deltas' contents; kept per delta versions."""
        key = ("rankings", watermark, self.reader.project_id, self.bounds, self.previous)
        versions = {set_key: delta.version for set_key, delta in deltas.items()}
        built, seen, ranked = self.rankings.get(key) or (None, {}, {})
        if all(set_key in ranked and seen.get(set_key) == version for set_key, version in versions.items()):
            return {set_key: ranked[set_key] for set_key in deltas}
        touched = {set_key: delta.by_content.keys() for set_key, delta in deltas.items()}
        client = self.service.client
        if built is None or not built.enough(touched, RANKED):
            depth = max(RANKING_DEPTH, RANKED + 2 * max(len(contents) for contents in touched.values()))
            if built is None:
                built = BuiltRankings(self.reader.project_id, *self._mart_windows(watermark), depth)
            else:
                built = built.deeper(max(depth, 2 * built.depth if all(set_key in built.orders for set_key in touched) else built.depth))
            pairs = {(set_key, content) for set_key, contents in touched.items() for content in contents}
            await run_in_threadpool(built.read_orders, client, sorted(touched.keys() | built.orders.keys()), pairs)
        changes = {
            set_key: SetDelta(
                {content: delta.of_content(content, self.bounds) for content in delta.by_content},
                {content: delta.of_content(content, self.previous) for content in delta.by_content},
            )
            for set_key, delta in deltas.items()
        }
        ranked = {**ranked, **await run_in_threadpool(built.ranked, client, changes, RANKED)}
        self.rankings.put(key, (built, {**seen, **versions}, ranked))
        return {set_key: ranked[set_key] for set_key in deltas}

    def _mart_windows(self, watermark: dt.datetime | None) -> tuple[MartWindow | None, MartWindow | None]:
        if watermark is None:  # nothing built yet: the delta is everything
            return None, None
        return MartWindow.of(self.bounds, watermark), MartWindow.of(self.previous, watermark)

    def _set_out(self, content_set: ContentSet, rules: ContentSetRules, ranked: Ranked | None, current: Measures, before: Measures) -> SetOverviewOut:
        if ranked is None:  # one content: no rankings
            return self._set_summary(content_set, rules, current, before, [], [], [], [])

        def items(pairs: list[tuple[str, Measures]]) -> list[dict]:
            return [{"content_key": content, **stats_json(measures, rules)} for content, measures in pairs]

        movers = [MoverOut(content_key=key, total=total, previous_total=earlier) for key, total, earlier in ranked.movers]
        return self._set_summary(content_set, rules, current, before, items(ranked.top), items(ranked.best), items(ranked.worst), movers)

    @staticmethod
    def _set_summary(
        content_set: ContentSet, rules: ContentSetRules, current: Measures, before: Measures,
        top: list[dict], best: list[dict], worst: list[dict], movers: list[MoverOut],
    ) -> SetOverviewOut:  # fmt: skip
        stats = stats_json(current, rules)
        return SetOverviewOut(
            content_set=content_set.key,
            name=content_set.name,
            signal_type=rules.signal_type.value,
            rating_scale=rules.rating_scale if rules.signal_type.value == "rating" else None,
            total=stats["total"],
            counts=stats["counts"],
            average=stats["average"],
            sentiment=SentimentOut(**stats["sentiment"]),
            previous_total=before.signals,
            previous_average=before.value_avg if rules.signal_type.value == "rating" else None,
            top=top,
            best=best,
            worst=worst,
            movers=movers,
        )


def _app_cache(app: FastAPI, name: str, entries: int) -> MemoryCache:
    cache = getattr(app.state, name, None)
    if cache is None:
        cache = MemoryCache(entries)
        setattr(app.state, name, cache)
    return cache


def project_sets(session: Session, project_id: str, content_set: str | None) -> list[ContentSet]:
    """The project's content sets by key (only ``content_set`` when given)."""
    query = select(ContentSet).where(ContentSet.project_id == project_id).order_by(ContentSet.key)
    if content_set is not None:
        query = query.where(ContentSet.key == content_set)
    return list(session.scalars(query))


@router.get(
    "/overview",
    summary="Overview of a project's signals over a window",
    responses={
        401: {"description": "Missing or invalid credentials"},
        404: {"description": "No such project, or no such content set in it"},
        503: {"description": "ClickHouse could not answer"},
    },
)
async def overview(
    request: Request,
    session: DbSession,
    project: Annotated[Project, Depends(current_project)],
    window: Annotated[OverviewWindow, Query(description="7d, 30d, 90d (ending today), or the current week, month or year")] = "7d",
    content_set: Annotated[str | None, Query(max_length=40, description="Only this content set")] = None,
    content_key: Annotated[
        str | None, Query(min_length=1, max_length=2048, description="Only this content (with content_set): its own history")
    ] = None,
) -> OverviewOut:
    if content_key is not None and content_set is None:
        raise invalid("content_key: give content_set too (a content key belongs to one content set)")
    sets = project_sets(session, project.id, content_set)
    if content_set is not None and not sets:
        raise ApiError(404, "not_found", f"no content set {content_set!r} in project {project.id!r}")
    try:
        body = await Overview(request.app, project, Window(window), content_key).read(sets)
    except (ClickHouseError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ApiError(503, "warehouse_unavailable", f"ClickHouse could not answer: {reason}") from exc
    warmer = getattr(request.app.state, "overview_warmer", None)
    if warmer is not None:  # read again when the next build finishes (ingest_api/overview_warm.py)
        warmer.note(project.id, window, content_set, content_key, body.built_through)
    return body
