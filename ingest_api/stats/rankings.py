"""A content set's rankings over a window (the panel overview's top, best, worst and movers):
ranked by ClickHouse once per build, merged with the live delta on each read.

Reading every content of a set into Python to rank it costs in proportion to the set's contents
(a million signals on 20,000 pages a set: seconds per overview). Instead one query per set and
window has ClickHouse rank the built contents and return the first ``depth`` of each order (only
the columns ranking needs); the full measures are read for the few contents a read shows and for
those the live delta touches. Between two builds only touched contents can move: a read ranks the
touched contents, merged, together with the first untouched ones of each order. That is exact:
an untouched content that is not among the first ``limit`` untouched ones of an order ranks below
them whatever the delta does. When an order's first ``depth`` hold too few untouched contents,
it is read again deeper.

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
from ingest_api.stats.queries import MARTS, MartWindow, read_contents

ORDERS = ("top", "best", "worst", "movers")
_NOTHING = Measures()  # shared and never changed

_SCOPE = "project_id = {project_id:String} AND content_set = {content_set:String}"

# The first {depth} built contents of each order, with what orders them. ``now`` and ``before``
# are inlined by ClickHouse in each part: a set's window is one primary-key range, read again.
ORDERS_SQL = """
WITH
    now AS (
        SELECT content_key, toInt64(sum(signals)) AS signals, toUInt64(sum(scored_signals)) AS scored,
               greatest(-1., least(1., toFloat64(sum(sentiment_sum)) / greatest(scored, 1))) AS score
        FROM {marts}.{now_table} WHERE {scope} AND {now_condition} GROUP BY content_key
    ),
    before AS (
        SELECT content_key, toInt64(sum(signals)) AS signals
        FROM {marts}.{before_table} WHERE {scope} AND {before_condition} GROUP BY content_key
    )
SELECT * FROM (
    SELECT 'top' AS ranking, content_key, signals, toInt64(0) AS earlier, 0. AS score FROM now
    WHERE signals > 0 ORDER BY signals DESC, content_key LIMIT {{depth:UInt32}}
)
UNION ALL SELECT * FROM (
    SELECT 'best', content_key, signals, toInt64(0), score FROM now
    WHERE signals > 0 AND scored > 0 ORDER BY score DESC, signals DESC, content_key LIMIT {{depth:UInt32}}
)
UNION ALL SELECT * FROM (
    SELECT 'worst', content_key, signals, toInt64(0), score FROM now
    WHERE signals > 0 AND scored > 0 ORDER BY score, signals DESC, content_key LIMIT {{depth:UInt32}}
)
UNION ALL SELECT * FROM (
    SELECT 'movers', content_key, sum(current) AS total, sum(previous) AS earlier, 0. FROM (
        SELECT content_key, signals AS current, toInt64(0) AS previous FROM now
        UNION ALL SELECT content_key, toInt64(0), signals FROM before
    )
    GROUP BY content_key HAVING total != earlier
    ORDER BY abs(total - earlier) DESC, total DESC, content_key LIMIT {{depth:UInt32}}
)
"""

_SORT = {
    "top": lambda row: (-row[2], row[1]),
    "best": lambda row: (-row[4], -row[2], row[1]),
    "worst": lambda row: (row[4], -row[2], row[1]),
    "movers": lambda row: (-abs(row[2] - row[3]), -row[2], row[1]),
}


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
class Ranked:
    """The first contents of each order, with their merged measures (movers: signals now and then)."""

    top: list[tuple[str, Measures]]
    best: list[tuple[str, Measures]]
    worst: list[tuple[str, Measures]]
    movers: list[tuple[str, int, int]]


@dataclass(frozen=True)
class SetWindow:
    """Where one set's contents are in the marts for a window and its previous period."""

    project_id: str
    content_set: str
    now: MartWindow | None  # None before the first build: nothing is built
    before: MartWindow | None


@dataclass
class BuiltRankings:
    """The first ``depth`` built contents of each order (``read_orders``), and the built measures
    of the contents read so far."""

    where: SetWindow
    depth: int
    orders: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in ORDERS})
    movers: dict[str, tuple[int, int]] = field(default_factory=dict)  # built signals (now, before) of the movers read
    current: dict[str, Measures] = field(default_factory=dict)
    previous: dict[str, Measures] = field(default_factory=dict)
    _locks: tuple[threading.Lock, threading.Lock] = field(default_factory=lambda: (threading.Lock(), threading.Lock()))

    def deeper(self, depth: int) -> BuiltRankings:
        """The same set and window, to read ``depth`` deep, keeping the measures read."""
        return BuiltRankings(self.where, depth, current=self.current, previous=self.previous, _locks=self._locks)

    def read_orders(self, client: Client) -> None:
        where = self.where
        if where.now is None or where.before is None:
            return
        before = where.before.renamed("before_")
        sql = ORDERS_SQL.format(
            marts=MARTS, scope=_SCOPE, now_table=where.now.table_of_contents, now_condition=where.now.condition,
            before_table=before.table_of_contents, before_condition=before.condition,
        )  # fmt: skip
        parameters = {"project_id": where.project_id, "content_set": where.content_set, "depth": self.depth,
                      **dict(where.now.parameters), **dict(before.parameters)}  # fmt: skip
        rows = client.query(sql, parameters=parameters).result_rows
        self.orders = {name: [row[1] for row in sorted((row for row in rows if row[0] == name), key=_SORT[name])] for name in ORDERS}
        self.movers = {row[1]: (row[2], row[3]) for row in rows if row[0] == "movers"}

    def enough(self, touched: Collection[str], limit: int) -> bool:
        """Whether each order read holds ``limit`` contents the delta does not touch (or all of it)."""
        return all(len(order) < self.depth or len(_untouched(order, touched, limit)) == limit for order in self.orders.values())

    def fetch(self, client: Client, contents: Collection[str], previous: bool = False) -> None:
        """Read the built measures (in the window, or the previous period) of contents not read
        yet; a content without rows has none."""
        window, known, lock = (self.where.before, self.previous, self._locks[1]) if previous else (self.where.now, self.current, self._locks[0])
        with lock:
            missing = sorted(set(contents) - known.keys())
            if window is None or not missing:
                return
            rows = read_contents(client, self.where.project_id, self.where.content_set, window, missing) or {}
            known.update({key: rows.get(key, _NOTHING) for key in missing})

    def ranked(self, client: Client, delta_now: dict[str, Measures], delta_before: dict[str, Measures], limit: int) -> Ranked:
        """The first ``limit`` of each order once the contents of the delta (``delta_now`` and
        ``delta_before``: their delta in the window and the previous period) are merged."""
        touched = delta_now.keys()
        shown = {name: _untouched(self.orders[name], touched, limit) for name in ("top", "best", "worst")}
        self.fetch(client, {key for keys in shown.values() for key in keys} | set(touched))
        self.fetch(client, touched, previous=True)
        now = {key: (self.current.get(key) or _NOTHING).copy().add(delta) for key, delta in delta_now.items()}
        then = {key: (self.previous.get(key) or _NOTHING).copy().add(delta) for key, delta in delta_before.items()}

        def first(name: str, keep: Callable[[Measures], bool], by: Callable[[str, Measures], tuple]) -> list[tuple[str, Measures]]:
            pairs = [(key, self.current.get(key) or _NOTHING) for key in shown[name]]
            pairs += [(key, measures) for key, measures in now.items() if keep(measures)]
            return sorted(pairs, key=lambda pair: by(*pair))[:limit]

        movers = [(key, *self.movers[key]) for key in _untouched(self.orders["movers"], touched, limit)]
        movers += [(key, now[key].signals, then[key].signals) for key in touched]
        movers = sorted((mover for mover in movers if mover[1] != mover[2]), key=lambda mover: _mover(*mover))[:limit]
        return Ranked(first("top", _live, _top), first("best", _scored, _best), first("worst", _scored, _worst), movers)


def _untouched(order: list[str], touched: Collection[str], limit: int) -> list[str]:
    found = []
    for key in order:
        if key not in touched:
            found.append(key)
            if len(found) == limit:
                break
    return found
