"""What a widget's stats requests get: the fast path answers as the routes do, private sets need a
secret key, ETag/304, batch and top, signals sent through the API counted, and bad input refused
with a message naming the parameter. How soon a signal shows (ack -> stats read p50/p99) is
bench/freshness.py's, not a test's."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.api.ingest_support import BROWSER_UA
from tests.api.stats_support import CONTENTS, SETS, World
from tests.polling import eventually
from tests.pipelines.raw_events import RawEvents


def test_the_fast_path_answers_as_the_routes_do(api, world):
    """StatsFastPath (pure ASGI, before routing) and the FastAPI routes give the same status, headers
    and body (``as_of`` aside) to reads, refusals and 304s; unusual parameters go on to the routes."""
    from urllib.parse import unquote

    import httpx

    from ingest_api.app import create_app
    from ingest_api.routers.stats import StatsFastPath, parse_stats_get

    routes_only = create_app(world.settings)
    routes_only.user_middleware = [entry for entry in routes_only.user_middleware if entry.cls is not StatsFastPath]
    assert len(routes_only.user_middleware) == len(api.app.user_middleware) - 1
    plain = TestClient(routes_only, headers={"X-Feelback-Key": world.public_key, "User-Agent": BROWSER_UA})
    secret = {"Authorization": f"Bearer {world.secret_key}"}
    etag = api.get("/v1/stats/thumbs//a", params={"window": "7d"}).headers["etag"]
    cases = [  # (path, params, headers, served by the fast path)
        ("/v1/stats/votes", {}, {}, True),
        ("/v1/stats/votes", {"window": "7d"}, {}, True),
        ("/v1/stats/stars//a", {"window": "month"}, {}, True),
        ("/v1/stats/stars/%2Fb", {"window": "30d"}, {}, True),
        ("/v1/stats/thumbs//a", {"window": "7d"}, {"If-None-Match": f'"other", {etag}'}, True),
        ("/v1/stats/emoji/batch", {"content": ["/a", "/b", "/a", "/never"], "window": "90d"}, {}, True),
        ("/v1/stats/stars/top", {"by": "average", "limit": "2"}, {}, True),
        ("/v1/stats/votes/top", {"by": "average"}, {}, True),  # 422 from the service
        ("/v1/stats/internal", {}, {}, True),  # 403 private_stats
        ("/v1/stats/internal", {"window": "year"}, secret, True),
        ("/v1/stats/votes", {}, {"X-Feelback-Key": ""}, True),  # 401 missing key
        ("/v1/stats/votes", {"key": world.public_key}, {"X-Feelback-Key": ""}, True),
        ("/v1/stats/votes", {"key": world.secret_key}, {"X-Feelback-Key": ""}, True),  # 401 secret key in a URL
        ("/v1/stats/nosuchset", {}, {}, True),  # 404
        ("/v1/stats/votes//a", {}, {"Origin": "https://widgets.example"}, True),  # CORS headers
        ("/v1/stats/votes//a", {"window": "8d"}, {}, False),  # 422 naming the parameter
        ("/v1/stats/votes/top", {"limit": "010"}, {}, False),
        ("/v1/stats/votes/", {}, {}, False),
    ]
    try:
        for path, params, headers, fast in cases:
            query = str(httpx.QueryParams(params)).encode()
            assert (parse_stats_get(unquote(path), query) is not None) == fast, (path, params)
            got, want = api.get(path, params=params, headers=headers), plain.get(path, params=params, headers=headers)
            assert got.status_code == want.status_code, (path, params, got.text, want.text)
            assert got.headers.multi_items() == want.headers.multi_items(), (path, params)
            if got.status_code == 200:
                assert {**got.json(), "as_of": None} == {**want.json(), "as_of": None}, (path, params)
                assert list(got.json())[-1] == "as_of"
            else:
                assert got.content == want.content, (path, params)
        assert api.get("/v1/stats/thumbs//a", params={"window": "7d"}, headers={"If-None-Match": etag}).status_code == 304
    finally:
        plain.close()
        routes_only.state.stats.close()


def test_private_sets_need_a_secret_key(api, world):
    refused = api.get("/v1/stats/internal")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "private_stats"
    assert "secret key" in refused.json()["error"]["message"]

    allowed = api.get("/v1/stats/internal", headers={"Authorization": f"Bearer {world.secret_key}"})
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["cache-control"].startswith("private")
    public = api.get("/v1/stats/votes")
    assert public.headers["cache-control"].startswith("public, max-age=1")
    assert "X-Feelback-Key" in public.headers["vary"]

    in_url = api.get("/v1/stats/votes", params={"key": world.secret_key}, headers={"X-Feelback-Key": ""})
    assert in_url.status_code == 401
    assert api.get("/v1/stats/votes", headers={"X-Feelback-Key": ""}).status_code == 401
    assert api.get("/v1/stats/votes", headers={"X-Feelback-Key": "fb_pk_unknownunknownunknown"}).status_code == 401


def test_etag_gives_304_until_the_numbers_change(api, ch, world):
    first = api.get("/v1/stats/thumbs//b", params={"window": "30d"})
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    again = api.get("/v1/stats/thumbs//b", params={"window": "30d"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag

    now = dt.datetime.now(dt.UTC)
    world.insert(ch, _one_create(world, "thumbs", "/b", now))

    def changed_read():
        changed = api.get("/v1/stats/thumbs//b", params={"window": "30d"}, headers={"If-None-Match": etag})
        assert changed.status_code == 200, changed.status_code
        return changed

    changed = eventually(changed_read)
    assert changed.headers["etag"] != etag
    assert changed.json()["total"] == first.json()["total"] + 1


def _one_create(world: World, content_set: str, content_key: str, moment: dt.datetime) -> RawEvents:
    events = RawEvents(project_id=world.project_id)
    events.create(SETS[content_set][0], moment, content_set=content_set, content_key=content_key, visitor_id=uuid.uuid4().hex, value=1)
    return events


def test_top_ranks_contents(api, ch, world):
    for by in ("count", "sentiment", "average"):
        response = api.get("/v1/stats/stars/top", params={"window": "all", "by": by, "limit": 2})
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        batch = api.get("/v1/stats/stars/batch", params={"content": CONTENTS}).json()["contents"]
        field = {"count": lambda s: s["total"], "sentiment": lambda s: s["sentiment"]["score"], "average": lambda s: s["average"]}[by]
        ranked = sorted(CONTENTS, key=lambda key: (-field(batch[key]), -batch[key]["total"], key))
        assert [item["content_key"] for item in items] == ranked[:2], by
        assert all({k: v for k, v in item.items() if k != "content_key"} == batch[item["content_key"]] for item in items)

    posted = api.post("/v1/stats/stars/batch", json={"contents": ["/a", "/a", "/b"], "window": "all"})
    assert posted.status_code == 200 and list(posted.json()["contents"]) == ["/a", "/b"]
    refused = api.get("/v1/stats/votes/top", params={"by": "average"})
    assert refused.status_code == 422 and refused.json()["error"]["message"].startswith("by:")


def test_signals_sent_through_the_api_show_in_the_stats(api):
    """An acknowledged signal is counted once by the stats read (polled up to 30 s, stopping when it
    shows). Ack -> shown p50/p99: ``.venv/bin/python -m bench.freshness``."""
    before = api.get("/v1/stats/likes//ingested").json()["total"]
    body = {"content_set": "likes", "content_key": "/ingested", "value": True, "idempotency_key": uuid.uuid4().hex}
    sent = api.post("/v1/signals", json=body)
    assert sent.status_code == 201, sent.text

    def counted():
        total = api.get("/v1/stats/likes//ingested").json()["total"]
        assert total >= before + 1, (before, total)
        return total

    assert eventually(counted) == before + 1


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/v1/stats/votes//a", {"window": "8d"}, 422, "window: must be one of 7d, 30d, 90d, all, week, month, year (got '8d')"),
        ("/v1/stats/votes/top", {"limit": "0"}, 422, "limit: "),
        ("/v1/stats/votes/top", {"by": "likes"}, 422, "by: must be one of count, sentiment, average"),
        ("/v1/stats/votes/batch", {}, 422, "content: is required"),
        ("/v1/stats/votes/batch", {"content": [f"/{n}" for n in range(101)]}, 422, "content: "),
        ("/v1/stats/nosuchset", {}, 404, "no content set 'nosuchset'"),
    ],
)
def test_bad_input_names_the_parameter(api, path, params, status, message):
    response = api.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"].startswith(message)
