"""The overview's rankings, read once per build (the first ``depth`` of each order) and merged with
the live delta's contents on each read (ingest_api/stats/rankings.py), equal ranking every content
merged, as the overview did. Here the built orders are given; ClickHouse's ranking of the marts is
checked against the stats API and fct_signals in tests/panel/test_panel_overview.py."""

from __future__ import annotations

import random

import pytest

from ingest_api.stats.measures import Measures
from ingest_api.stats.rankings import BuiltRankings, Numbers, SetDelta

LIMIT = 5


def brute_force(current: dict[str, Measures], previous: dict[str, Measures], limit: int = LIMIT) -> tuple:
    """Every content merged and sorted: the overview's rankings before they were kept per build."""
    live = [(key, m) for key, m in current.items() if m.signals > 0]
    scored = [(key, m) for key, m in live if m.sentiment_score is not None]
    top = sorted(live, key=lambda pair: (-pair[1].signals, pair[0]))[:limit]
    best = sorted(scored, key=lambda pair: (-(pair[1].sentiment_score or 0.0), -pair[1].signals, pair[0]))[:limit]
    worst = sorted(scored, key=lambda pair: ((pair[1].sentiment_score or 0.0), -pair[1].signals, pair[0]))[:limit]
    moved = sorted(
        ((key, (current.get(key) or Measures()).signals, (previous.get(key) or Measures()).signals) for key in current.keys() | previous.keys()),
        key=lambda item: (-abs(item[1] - item[2]), -item[1], item[0]),
    )
    movers = [item for item in moved if item[1] != item[2]][:limit]
    return top, best, worst, movers


def built(current: dict[str, Measures], previous: dict[str, Measures], depth: int) -> BuiltRankings:
    """What BuiltRankings.read_orders finds, from a brute-force ranking, with every built number and measure known."""
    top, best, worst, movers = brute_force(current, previous, limit=depth)
    orders = {"top": [key for key, _ in top], "best": [key for key, _ in best], "worst": [key for key, _ in worst],
              "movers": [key for key, _, _ in movers]}  # fmt: skip
    every = current.keys() | previous.keys()
    return BuiltRankings(
        "p", None, None, depth, {"s": orders},
        numbers={("s", key): Numbers(m.signals, m.scored_signals, m.sentiment_sum) for key, m in current.items()},
        earlier={("s", key): (previous.get(key) or Measures()).signals for key in every},
        moved={("s", key): (now, then) for key, now, then in movers},
        current={("s", key): m for key, m in current.items()},
    )  # fmt: skip


def measures(rng: random.Random, low: int = 0) -> Measures:
    signals = rng.randint(low, 6)
    scored = rng.randint(0, max(signals, 0))
    positive = rng.randint(0, scored)
    return Measures(signals=signals, positive_signals=positive, negative_signals=scored - positive, scored_signals=scored,
                    sentiment_sum=float(positive - (scored - positive)), value_counts={"yes": positive})  # fmt: skip


def delta(rng: random.Random) -> Measures:
    change = measures(rng, low=-3)
    return change if rng.random() < 0.7 else Measures().add(change, -1)


@pytest.mark.parametrize("seed", range(60))
def test_merging_the_touched_contents_ranks_as_merging_every_content(seed):
    rng = random.Random(seed)
    contents = [f"/page-{n}" for n in range(rng.randint(0, 40))]
    current = {key: measures(rng) for key in contents if rng.random() < 0.8}
    previous = {key: measures(rng) for key in contents if rng.random() < 0.6}
    touched = rng.sample(contents + ["/new-a", "/new-b"], k=rng.randint(0, min(12, len(contents) + 2)))
    now_delta = {key: delta(rng) for key in touched}
    then_delta = {key: delta(rng) if rng.random() < 0.3 else Measures() for key in touched}

    untouched = {key: m.copy() for key, m in current.items()}
    rankings = built(current, previous, depth=rng.choice([LIMIT, LIMIT + 3, 100]))
    if not rankings.enough({"s": set(touched)}, LIMIT):
        rankings = built(current, previous, depth=1000)
    ranked = rankings.ranked(None, {"s": SetDelta(now_delta, then_delta)}, LIMIT)["s"]

    every_now = {key: (current.get(key) or Measures()).copy().add(now_delta.get(key, Measures())) for key in current.keys() | set(touched)}
    every_then = {key: (previous.get(key) or Measures()).copy().add(then_delta.get(key, Measures())) for key in previous.keys() | set(touched)}
    assert (ranked.top, ranked.best, ranked.worst, ranked.movers) == brute_force(every_now, every_then)
    assert current == untouched  # the build's rows (shared through the stats service's cache) stay as read


def test_too_few_untouched_contents_in_the_orders_read_is_not_enough():
    current = {f"/p{n}": Measures(signals=10 - n) for n in range(8)}
    rankings = built(current, {}, depth=6)
    assert rankings.enough({"s": {"/p0"}}, LIMIT) and not rankings.enough({"s": {"/p0", "/p1"}}, LIMIT)
    assert built(current, {}, depth=9).enough({"s": set(current)}, LIMIT)  # fewer than depth: the whole order was read
    assert not rankings.enough({"another set": set()}, LIMIT)  # its orders were not read
