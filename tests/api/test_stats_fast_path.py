"""The stats fast path's parsing and rendering, without a server (the answers themselves are
compared with the routes' in stats/test_widget_reads.py::test_the_fast_path_answers_as_the_routes_do)."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from ingest_api.routers.stats import StatsGet, parse_stats_get
from ingest_api.stats.freshness import LiveDelta
from ingest_api.stats.service import Rendered
from ingest_api.stats.windows import Window


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/v1/stats/votes", b"", StatsGet("votes", "set", Window.all, None)),
        ("/v1/stats/votes", b"window=7d&key=fb_pk_x", StatsGet("votes", "set", Window.days_7, "fb_pk_x")),
        ("/v1/stats/votes", b"window=7d&window=month", StatsGet("votes", "set", Window.month, None)),  # the last, as FastAPI
        ("/v1/stats/top", b"", StatsGet("top", "set", Window.all, None)),
        ("/v1/stats/votes/top", b"by=average&limit=100&min_total=3",
         StatsGet("votes", "top", Window.all, None, by="average", limit=100, min_total=3)),
        ("/v1/stats/votes/batch", b"content=%2Fa&content=b&content=%2Fa&window=year",
         StatsGet("votes", "batch", Window.year, None, contents=("/a", "b"))),
        ("/v1/stats/votes//guide/intro", b"window=30d", StatsGet("votes", "content", Window.days_30, None, content_key="/guide/intro")),
        ("/v1/stats/votes/top/", b"", StatsGet("votes", "content", Window.all, None, content_key="top/")),
        ("/v1/stats/votes/a b", b"unknown=1", StatsGet("votes", "content", Window.all, None, content_key="a b")),
    ],
)  # fmt: skip
def test_plainly_valid_reads_are_parsed(path, query, expected):
    assert parse_stats_get(path, query) == expected


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/stats/votes", b"window=8d"),
        ("/v1/stats/votes", b"window="),
        ("/v1/stats/votes/", b""),  # an empty content key
        ("/v1/stats/", b""),
        ("/v1/stats/" + "s" * 41, b""),
        ("/v1/stats/votes/" + "c" * 2049, b""),
        ("/v1/stats/votes/top", b"limit=0"),
        ("/v1/stats/votes/top", b"limit=101"),
        ("/v1/stats/votes/top", b"limit=010"),
        ("/v1/stats/votes/top", b"limit=+5"),
        ("/v1/stats/votes/top", b"min_total=0"),
        ("/v1/stats/votes/top", b"by=likes"),
        ("/v1/stats/votes/batch", b""),
        ("/v1/stats/votes/batch", b"content="),
        ("/v1/stats/votes/batch", "&".join(f"content=c{n}" for n in range(101)).encode()),
    ],
)
def test_anything_unusual_is_left_to_the_routes(path, query):
    assert parse_stats_get(path, query) is None


def test_a_rendered_body_gets_as_of_as_orjson_would_and_a_stable_etag():
    body = {"content_set": "votes", "window": {"name": "all", "start": None}, "total": 3, "counts": {"yes": 2, "no": 1},
            "average": None, "sentiment": {"score": 0.333}, "content_key": 'a "quoted" ✓ key'}  # fmt: skip
    checked_at = dt.datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=dt.UTC)
    delta = LiveDelta.of(None, checked_at, "unbuilt/1", {})
    rendered = Rendered.of(body)
    assert rendered.with_as_of(delta.as_of) == orjson.dumps({**body, "as_of": "2026-01-02T03:04:05.678Z"})
    assert rendered.etag == Rendered.of(dict(body)).etag != Rendered.of({**body, "total": 4}).etag
    assert rendered.etag.startswith('W/"') and len(rendered.etag) == len('W/""') + 24
