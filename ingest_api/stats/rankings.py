"""The content sets' rankings over a window (the panel overview's top, best, worst and movers):
ranked by ClickHouse once per build, merged with the live delta on each read.

Reading every content of a set into Python to rank it costs in proportion to the set's contents
(a million signals on 20,000 pages a set: seconds per overview). Instead one query for all the
project's sets has ClickHouse rank the built contents of the window and return the first
``depth`` of each order and set, with only the numbers ranking needs (signals, scored signals,
sentiment sum; signals in the previous period), and the same numbers of the contents the live
delta touches. Between two builds only touched contents can move: a read ranks the touched
contents, merged, together with the first untouched ones of each order. That is exact: an
untouched content that is not among the first ``limit`` untouched ones of an order ranks below
them whatever the delta does. When an order's first ``depth`` hold too few untouched contents,
the orders are read again deeper. The full measures (value counts...) are read, in one query,
only for the few candidates of each order (``SLACK`` more than shown, as float sums of two
tables may differ in the last bit), which are ranked again by them.

The orders, as the stats API's ``top`` and the overview always ranked them:
  top     most signals first, then by content key;
  best    highest sentiment score first (scored contents only), then most signals, content key;
  worst   lowest sentiment score first, then most signals, content key;
  movers  largest change of signals against the previous period, then most signals now,
          content key; contents whose count did not change are no movers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client

from ingest_api.stats.measures import Measures
from ingest_api.stats.queries import _SUMS, MARTS, MartWindow

ORDERS = ("top", "best", "worst", "movers")
_NOTHING = Measures()  # shared and never changed

_SCOPE = "project_id = {project_id:String} AND content_set IN {sets:Array(String)}"

# The first {depth} built contents of each order and set, and the contents the delta touches
# ({touched}), with what orders them: (ranking, set, content, signals, signals before, scored
# signals, sentiment sum). ``now`` and ``before`` are read once (materialized CTEs).
ORDERS_SQL = """
WITH
    now AS MATERIALIZED (
        SELECT content_set, content_key, toInt64(sum(signals)) AS signals, toInt64(sum(scored_signals)) AS scored,
               toFloat64(sum(sentiment_sum)) AS sentiment, greatest(-1., least(1., sentiment / greatest(scored, 1))) AS score
        FROM {marts}.{now_table} WHERE {scope} AND {now_condition} GROUP BY content_set, content_key
    ),
    before AS MATERIALIZED (
        SELECT content_set, content_key, toInt64(sum(signals)) AS signals
        FROM {marts}.{before_table} WHERE {scope} AND {before_condition} GROUP BY content_set, content_key
    )
SELECT * FROM (
    SELECT 'top' AS ranking, content_set, content_key, signals, toInt64(0) AS earlier, scored, sentiment FROM now
    WHERE signals > 0 ORDER BY content_set, signals DESC, content_key LIMIT {{depth:UInt32}} BY content_set
)
UNION ALL SELECT * FROM (
    SELECT 'best', content_set, content_key, signals, toInt64(0), scored, sentiment FROM now WHERE signals > 0 AND scored != 0
    ORDER BY content_set, score DESC, signals DESC, content_key LIMIT {{depth:UInt32}} BY content_set
)
UNION ALL SELECT * FROM (
    SELECT 'worst', content_set, content_key, signals, toInt64(0), scored, sentiment FROM now WHERE signals > 0 AND scored != 0
    ORDER BY content_set, score, signals DESC, content_key LIMIT {{depth:UInt32}} BY content_set
)
UNION ALL SELECT * FROM (
    SELECT 'movers', content_set, content_key, sum(current) AS total, sum(previous) AS earlier, toInt64(0), 0. FROM (
        SELECT content_set, content_key, signals AS current, toInt64(0) AS previous FROM now
        UNION ALL SELECT content_set, content_key, toInt64(0), signals FROM before
    )
    GROUP BY content_set, content_key HAVING total != earlier
    ORDER BY content_set, abs(total - earlier) DESC, total DESC, content_key LIMIT {{depth:UInt32}} BY content_set
)
UNION ALL SELECT 'touched', content_set, content_key, sum(current), sum(previous), sum(scored), sum(sentiment) FROM (
    SELECT content_set, content_key, signals AS current, toInt64(0) AS previous, scored, sentiment FROM now
    WHERE (content_set, content_key) IN {{touched:Array(Tuple(String, String))}}
    UNION ALL SELECT content_set, content_key, toInt64(0), signals, toInt64(0), 0. FROM before
    WHERE (content_set, content_key) IN {{touched:Array(Tuple(String, String))}}
)
GROUP BY content_set, content_key
"""

# The same numbers of some contents (touched after the orders were read), from the marts ordered by content.
NUMBERS_SQL = """
SELECT 'touched', content_set, content_key, sum(current), sum(previous), sum(scored), sum(sentiment) FROM (
    SELECT content_set, content_key, toInt64(signals) AS current, toInt64(0) AS previous, toInt64(scored_signals) AS scored,
           toFloat64(sentiment_sum) AS sentiment
    FROM {marts}.agg_content_{now_kind} WHERE {scope} AND (content_set, content_key) IN {{touched:Array(Tuple(String, String))}}
      AND {now_condition}
    UNION ALL
    SELECT content_set, content_key, toInt64(0), toInt64(signals), toInt64(0), 0.
    FROM {marts}.agg_content_{before_kind} WHERE {scope} AND (content_set, content_key) IN {{touched:Array(Tuple(String, String))}}
      AND {before_condition}
)
GROUP BY content_set, content_key
"""

# The built measures of some contents of the sets in a window.
MEASURES_SQL = """
SELECT content_set, content_key, {sums}
FROM {marts}.agg_content_{kind}
WHERE {scope} AND (content_set, content_key) IN {{contents:Array(Tuple(String, String))}} AND {condition}
GROUP BY content_set, content_key
"""

# Candidates of each order taken by the numbers of the orders query, then ranked by the full
# measures (whose float sums may differ in the last bit): a few more than shown.
SLACK = 5

Content = tuple[str, str]  # (content set, content key)


def _top(key: str, measures: Measures) -> tuple:
    return (-measures.signals, key)


def _best(key: str, measures: Measures) -> tuple:
    return (-(measures.sentiment_score or 0.0), -measures.signals, key)


def _worst(key: str, measures: Measures) -> tuple:
    return ((measures.sentiment_score or 0.0), -measures.signals, key)


def _live(measures: Measures) -> bool:
    return measures.signals > 0


def _scored(measures: Measures) -> bool:
    return measures.signals > 0 and measures.sentiment_score is not None


def _mover(key: str, now: int, then: int) -> tuple:
    return (-abs(now - then), -now, key)


@dataclass(frozen=True)
class Numbers:
    """What ranks a content: its signals, scored signals and their sentiment sum (as Measures)."""

    signals: int = 0
    scored_signals: int = 0
    sentiment_sum: float = 0.0

    @property
    def sentiment_score(self) -> float | None:
        return max(-1.0, min(1.0, self.sentiment_sum / self.scored_signals)) if self.scored_signals else None

    def plus(self, delta: Measures) -> Numbers:
        return Numbers(self.signals + delta.signals, self.scored_signals + delta.scored_signals, self.sentiment_sum + delta.sentiment_sum)


_ZERO = Numbers()
_KEEP = {"top": _live, "best": _scored, "worst": _scored}
_BY = {"top": _top, "best": _best, "worst": _worst}


@dataclass(frozen=True)
class Ranked:
    """The first contents of each order, with their merged measures (movers: signals now and then)."""

    top: list[tuple[str, Measures]]
    best: list[tuple[str, Measures]]
    worst: list[tuple[str, Measures]]
    movers: list[tuple[str, int, int]]


@dataclass(frozen=True)
class SetDelta:
    """What the live delta adds to a set's contents it touches: in the window and in the previous period."""

    now: dict[str, Measures]
    before: dict[str, Measures]


@dataclass
class BuiltRankings:
    """For a project's sets in a window: the first ``depth`` built contents of each order
    (``read_orders``), the numbers that rank the contents read so far, and the full built
    measures of those shown."""

    project_id: str
    now: MartWindow | None  # None before the first build: nothing is built
    before: MartWindow | None
    depth: int
    orders: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # set -> order -> content keys
    numbers: dict[Content, Numbers] = field(default_factory=dict)  # built, in the window
    earlier: dict[Content, int] = field(default_factory=dict)  # built signals in the previous period, of touched contents
    moved: dict[Content, tuple[int, int]] = field(default_factory=dict)  # built signals (now, before) of the movers read
    current: dict[Content, Measures] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deeper(self, depth: int) -> BuiltRankings:
        """The same sets and window, to read ``depth`` deep, keeping what was read."""
        return BuiltRankings(self.project_id, self.now, self.before, depth, numbers=self.numbers, earlier=self.earlier,
                             current=self.current, _lock=self._lock)  # fmt: skip

    def read_orders(self, client: Client, sets: list[str], touched: Collection[Content]) -> None:
        """The orders of ``sets``, and the numbers of the ``touched`` contents, in one query."""
        self.orders = {key: {name: [] for name in ORDERS} for key in sets}
        if self.now is None or self.before is None:
            return
        before = self.before.renamed("before_")
        sql = ORDERS_SQL.format(
            marts=MARTS, scope=_SCOPE, now_table=self.now.table_of_contents, now_condition=self.now.condition,
            before_table=before.table_of_contents, before_condition=before.condition,
        )  # fmt: skip
        parameters = {"project_id": self.project_id, "sets": sets, "depth": self.depth, "touched": sorted(touched),
                      **dict(self.now.parameters), **dict(before.parameters)}  # fmt: skip
        rows = client.query(sql, parameters=parameters, settings={"enable_materialized_cte": 1}).result_rows
        self._note(rows, touched)
        self.moved = {(row[1], row[2]): (row[3], row[4]) for row in rows if row[0] == "movers"}
        for name in ORDERS:
            for row in sorted((row for row in rows if row[0] == name), key=lambda row: _order(name, row)):
                self.orders[row[1]][name].append(row[2])

    def _note(self, rows: list, touched: Collection[Content]) -> None:
        with self._lock:
            for ranking, set_key, key, signals, earlier, scored, sentiment in rows:
                if ranking != "movers":
                    self.numbers[(set_key, key)] = Numbers(signals, scored, sentiment)
                if ranking == "touched":
                    self.earlier[(set_key, key)] = earlier
            for content in touched:
                self.numbers.setdefault(content, _ZERO)
                self.earlier.setdefault(content, 0)

    def enough(self, touched: dict[str, Collection[str]], limit: int) -> bool:
        """Whether the orders of every set were read and each holds ``limit`` contents the
        delta does not touch (or all of the order)."""
        return all(
            key in self.orders
            and all(len(order) < self.depth or len(_untouched(order, contents, limit)) == limit for order in self.orders[key].values())
            for key, contents in touched.items()
        )  # fmt: skip

    def read_numbers(self, client: Client, contents: Collection[Content]) -> None:
        """The numbers of contents not read yet (touched since the orders were read), in one query."""
        missing = sorted(set(contents) - self.earlier.keys())
        if self.now is None or self.before is None or not missing:
            return
        before = self.before.renamed("before_")
        sql = NUMBERS_SQL.format(marts=MARTS, scope=_SCOPE, now_kind=self.now.kind, now_condition=self.now.condition,
                                 before_kind=before.kind, before_condition=before.condition)  # fmt: skip
        parameters = {"project_id": self.project_id, "sets": sorted({key for key, _ in missing}), "touched": missing,
                      **dict(self.now.parameters), **dict(before.parameters)}  # fmt: skip
        self._note(client.query(sql, parameters=parameters).result_rows, missing)

    def fetch(self, client: Client, contents: Collection[Content]) -> None:
        """Read the full built measures of contents not read yet, in one query; a content without rows has none."""
        missing = sorted(set(contents) - self.current.keys())
        if self.now is None or not missing:
            return
        window = self.now
        sql = MEASURES_SQL.format(sums=_SUMS, marts=MARTS, kind=window.kind, scope=_SCOPE, condition=window.condition)
        parameters = {"project_id": self.project_id, "sets": sorted({key for key, _ in missing}), "contents": missing, **dict(window.parameters)}
        rows = {(row["content_set"], row["content_key"]): Measures.from_row(row) for row in client.query(sql, parameters=parameters).named_results()}
        with self._lock:
            self.current.update({content: rows.get(content, _NOTHING) for content in missing})

    def ranked(self, client: Client, deltas: dict[str, SetDelta], limit: int) -> dict[str, Ranked]:
        """Every set's first ``limit`` of each order once the contents its delta touches are merged:
        candidates by the numbers, ranked by their full measures (read for them only)."""
        self.read_numbers(client, {(key, content) for key, delta in deltas.items() for content in delta.now})
        candidates = {key: self._candidates(key, delta, limit + SLACK) for key, delta in deltas.items()}
        self.fetch(client, {(key, content) for key, names in candidates.items() for keys in names.values() for content in keys})
        found = {}
        for key, delta in deltas.items():

            def first(name: str, key: str = key, delta: SetDelta = delta) -> list[tuple[str, Measures]]:
                pairs = [(content, self._measures(key, content, delta)) for content in candidates[key][name]]
                return sorted((pair for pair in pairs if _KEEP[name](pair[1])), key=lambda pair: _BY[name](*pair))[:limit]

            found[key] = Ranked(first("top"), first("best"), first("worst"), self._movers(key, delta, limit))
        return found

    def _measures(self, set_key: str, content: str, delta: SetDelta) -> Measures:
        built = self.current.get((set_key, content)) or _NOTHING
        return built.copy().add(delta.now[content]) if content in delta.now else built

    def _candidates(self, set_key: str, delta: SetDelta, count: int) -> dict[str, list[str]]:
        merged = {content: self.numbers.get((set_key, content), _ZERO).plus(change) for content, change in delta.now.items()}
        found = {}
        for name in ("top", "best", "worst"):
            pairs = [(content, self.numbers[(set_key, content)]) for content in _untouched(self.orders[set_key][name], delta.now, count)]
            pairs += [(content, numbers) for content, numbers in merged.items() if _KEEP[name](numbers)]
            found[name] = [content for content, _ in sorted(pairs, key=lambda pair: _BY[name](*pair))[:count]]
        return found

    def _movers(self, set_key: str, delta: SetDelta, limit: int) -> list[tuple[str, int, int]]:
        def counts(content: str) -> tuple[int, int]:
            if content in delta.now:
                built = self.numbers.get((set_key, content), _ZERO).signals, self.earlier.get((set_key, content), 0)
                return built[0] + delta.now[content].signals, built[1] + delta.before[content].signals
            return self.moved[(set_key, content)]

        contents = _untouched(self.orders[set_key]["movers"], delta.now, limit) + list(delta.now)
        movers = [(content, *counts(content)) for content in contents]
        return sorted((mover for mover in movers if mover[1] != mover[2]), key=lambda mover: _mover(*mover))[:limit]


def _order(name: str, row: tuple) -> tuple:
    """A row of the orders query in its order: by set, then as the order ranks."""
    _, set_key, key, signals, earlier, scored, sentiment = row
    if name == "movers":
        return (set_key, *_mover(key, signals, earlier))
    return (set_key, *_BY[name](key, Numbers(signals, scored, sentiment)))


def _untouched(order: list[str], touched: Collection[str], limit: int) -> list[str]:
    found = []
    for key in order:
        if key not in touched:
            found.append(key)
            if len(found) == limit:
                break
    return found
