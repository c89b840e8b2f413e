"""An acknowledged signal is never lost: SIGKILL after the ack, warehouse down, retried inserts.

The API runs as a real uvicorn process against the shared local ClickHouse server.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

import httpx
import orjson
import pytest

from ingest_api.spool import Spool
from ingest_api.writer import Drainer
from tests.api.ingest_support import BROWSER_UA, ApiProcess, ingest_settings, seed_project, wait_for_rows
from tests.api.spool_outage import TcpProxy
from warehouse.local_server.process import free_port

COUNT_BY_KEYS = (
    "SELECT count(), uniqExact(idempotency_key) FROM raw.feedback_events "
    "WHERE project_id = {p:String} AND idempotency_key IN {keys:Array(String)}"
)


def creates(api_url: str, public_key: str, keys: list[str], concurrency: int = 20) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        limit = asyncio.Semaphore(concurrency)
        headers = {"X-Feelback-Key": public_key, "User-Agent": BROWSER_UA}
        async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=30) as client:

            async def one(key: str) -> httpx.Response:
                async with limit:
                    body = {"content_set": "stars", "content_key": "/durable", "value": 5, "idempotency_key": key}
                    return await client.post("/v1/signals", json=body)

            return await asyncio.gather(*(one(key) for key in keys))

    return asyncio.run(run())


def test_acknowledged_signals_survive_sigkill(clickhouse_server, ch, tmp_path):
    settings = ingest_settings(tmp_path / "home")
    project = seed_project(settings)
    keys = [uuid.uuid4().hex for _ in range(200)]
    # A drain interval longer than the test: every acknowledged signal is only in the spool when killed.
    api = ApiProcess(settings, clickhouse_server.url, FEELBACK_SPOOL_DRAIN_INTERVAL_MS="600000").start()
    try:
        responses = creates(api.url, project.public_key, keys)
    finally:
        api.kill(signal.SIGKILL)
    assert [r.status_code for r in responses] == [201] * len(keys)
    parameters = {"p": project.id, "keys": keys}
    assert ch.query(COUNT_BY_KEYS, parameters=parameters).result_rows[0] == (0, 0)

    restarted = ApiProcess(settings, clickhouse_server.url, FEELBACK_SPOOL_DRAIN_INTERVAL_MS="100").start()
    try:
        count, _ = wait_for_rows(ch, COUNT_BY_KEYS.replace("count(), ", ""), parameters, len(keys))
        assert count == len(keys)
        # Retries of acknowledged requests after the restart get the first answer and store nothing.
        retried = creates(restarted.url, project.public_key, keys[:20])
        assert [r.json() for r in retried] == [r.json() for r in responses[:20]]
        assert all(r.headers.get("Idempotent-Replayed") == "true" for r in retried)
        time.sleep(0.5)
        assert ch.query(COUNT_BY_KEYS, parameters=parameters).result_rows[0] == (len(keys), len(keys))
    finally:
        restarted.kill(signal.SIGTERM)


def test_warehouse_down_fills_the_spool_then_everything_arrives_once(clickhouse_server, ch, tmp_path):
    settings = ingest_settings(tmp_path / "home")
    project = seed_project(settings)
    down_port = free_port()
    target = clickhouse_server.url.replace(f":{clickhouse_server.http_port}/", f":{down_port}/")
    api = ApiProcess(settings, target, FEELBACK_SPOOL_MAX_BYTES="60000", FEELBACK_SPOOL_DRAIN_INTERVAL_MS="100").start()
    proxy = None
    try:
        accepted, refused = [], None
        with httpx.Client(base_url=api.url, headers={"X-Feelback-Key": project.public_key, "User-Agent": BROWSER_UA}) as client:
            for _ in range(2000):
                key = uuid.uuid4().hex
                body = {"content_set": "stars", "content_key": "/outage", "value": 3, "idempotency_key": key}
                response = client.post("/v1/signals", json=body)
                if response.status_code != 201:
                    refused = (key, response)
                    break
                accepted.append(key)
        assert refused is not None, "the spool budget never ran out"
        key, response = refused
        assert response.status_code == 503 and int(response.headers["Retry-After"]) >= 1, response.text
        assert response.json()["error"]["code"] == "ingest_backlog_full"
        assert len(accepted) > 20

        proxy = TcpProxy(down_port, clickhouse_server.http_port)  # the warehouse is back
        parameters = {"p": project.id, "keys": accepted + [key]}
        count, waited = wait_for_rows(ch, COUNT_BY_KEYS.replace("count(), ", ""), parameters, len(accepted), timeout=30)
        assert count == len(accepted)
        after = httpx.post(
            f"{api.url}/v1/signals",
            json={"content_set": "stars", "content_key": "/outage", "value": 3, "idempotency_key": uuid.uuid4().hex},
            headers={"X-Feelback-Key": project.public_key, "User-Agent": BROWSER_UA},
        )
        assert after.status_code == 201
        time.sleep(0.5)
        assert ch.query(COUNT_BY_KEYS, parameters=parameters).result_rows[0] == (len(accepted), len(accepted))
    finally:
        api.kill(signal.SIGTERM)
        if proxy:
            proxy.close()


def _row(key: str) -> bytes:
    """A row as spooled before appends had notes, the answer riding in ``_`` keys: still sent as is."""
    return orjson.dumps({
        "event_id": str(uuid.uuid4()), "idempotency_key": key, "project_id": "drainer-test", "content_set": "docs",
        "content_key": "/x", "signal_id": str(uuid.uuid4()), "operation": "create", "signal_type": "like", "value": 1,
        "rating_scale": 0, "reaction": "", "message": "", "tags": [], "contact_email": "", "form_fields": {},
        "visitor_id": "v", "is_bot": False, "occurred_at": "2025-03-01 10:00:00.000", "received_at": "2025-03-01 10:00:00.000",
        "_fp": "", "_status": 201, "_body": {},
    })  # fmt: skip


def test_a_batch_resent_after_a_crash_is_stored_once(clickhouse_server, ch, tmp_path):
    """Crash between the INSERT and recording progress: the next owner re-sends, ClickHouse drops the copy."""
    from warehouse.client import get_client

    keys = [uuid.uuid4().hex for _ in range(250)]
    spool = Spool(tmp_path / "spool", max_bytes=10_000_000).open()

    async def append() -> None:
        await spool.append([_row(k) for k in keys[:100]])
        await spool.append([_row(k) for k in keys[100:]])
        await spool.flush()

    asyncio.run(append())

    def crash(_segment):
        raise OSError("killed before progress was recorded")

    spool.mark_drained = crash
    with pytest.raises(OSError):
        Drainer(spool, get_client, batch_rows=100).drain_once()
    spool.close()
    parameters = {"p": "drainer-test", "keys": keys}
    assert ch.query(COUNT_BY_KEYS, parameters=parameters).result_rows[0] == (250, 250)

    reopened = Spool(tmp_path / "spool", max_bytes=10_000_000).open()
    assert reopened.lane == spool.lane and len(reopened.sealed_segments()) == 1
    drainer = Drainer(reopened, get_client, batch_rows=100)
    assert drainer.drain_once() == 250
    assert reopened.sealed_segments() == [] and reopened.undrained_bytes == 0
    assert ch.query(COUNT_BY_KEYS, parameters=parameters).result_rows[0] == (250, 250)
    reopened.close()


def test_a_torn_tail_is_cut_and_the_rest_kept(tmp_path):
    spool = Spool(tmp_path / "spool", max_bytes=10_000_000).open()
    asyncio.run(spool.append([_row("a"), _row("b")]))
    spool.close()
    (segment,) = spool.sealed_segments()
    with open(segment.path, "ab") as file:  # a write cut short by a crash: never acknowledged
        file.write(b"\x40\x00\x00\x00\x00\x00")
    reopened = Spool(tmp_path / "spool", max_bytes=10_000_000).open()
    (recovered,) = reopened.sealed_segments()
    assert [orjson.loads(r)["idempotency_key"] for r in reopened.read(recovered)] == ["a", "b"]
    assert recovered.size == segment.size == segment.path.stat().st_size
    reopened.close()


def test_records_read_back_one_by_one_whatever_their_framing(tmp_path):
    """An append is one frame of newline-joined rows and its notes; segments with a frame per row read
    the same. The drainer gets the rows only; the notes come back with their rows."""
    from ingest_api.spool import frame, lane_appends

    spool = Spool(tmp_path / "spool", max_bytes=10_000_000).open()

    async def append() -> None:
        await spool.append([_row("a"), _row("b"), _row("c")], notes=b'{"abc":1}')
        await spool.append([_row("d")], notes=b'["d"]')
        await spool.append([])

    asyncio.run(append())
    spool.close()
    (segment,) = spool.sealed_segments()
    with open(segment.path, "ab") as file:  # as a process that framed each row wrote them
        file.write(frame(_row("e")) + frame(_row("f")))

    reopened = Spool(tmp_path / "spool", max_bytes=10_000_000).open()
    (recovered,) = reopened.sealed_segments()
    keys = ["a", "b", "c", "d", "e", "f"]
    assert [orjson.loads(r)["idempotency_key"] for r in reopened.read(recovered)] == keys
    appends = [([orjson.loads(r)["idempotency_key"] for r in records], notes) for records, notes in lane_appends(reopened.lane)]
    assert appends == [(["a", "b", "c"], b'{"abc":1}'), (["d"], b'["d"]'), (["e"], b""), (["f"], b"")]
    reopened.close()


def test_the_answers_are_read_back_from_notes_and_from_rows_spooled_before_notes(tmp_path):
    from ingest_api.spool import lane_appends
    from ingest_api.spool_replay import Answer, noted, replay_notes

    spool = Spool(tmp_path / "spool", max_bytes=10_000_000).open()
    body = b'{"signal_id":"s-new","edit_token":null}'
    new_row = orjson.loads(_row("new"))
    new_row = orjson.dumps({name: value for name, value in new_row.items() if not name.startswith("_")})

    async def append() -> None:
        await spool.append([_row("old")])
        await spool.append([new_row], notes=replay_notes("drainer-test", [("new", Answer(201, body, "fp-new"))]))
        await spool.append([new_row], notes=replay_notes("drainer-test", [("gone", Answer(200, b"{}", "fp"))], [("gone", "s-1", 99)]))

    asyncio.run(append())
    spool.close()
    reopened = Spool(tmp_path / "spool", max_bytes=10_000_000).open()
    assert list(noted(lane_appends(reopened.lane))) == [
        ("drainer-test", [("old", (201, b"{}", ""))], []),
        ("drainer-test", [("new", (201, body, "fp-new"))], []),
        ("drainer-test", [("gone", (200, b"{}", "fp"))], [("gone", "s-1", 99)]),
    ]
    assert [orjson.loads(r)["idempotency_key"] for r in reopened.read(reopened.sealed_segments()[0])] == ["old", "new", "new"]
    reopened.close()


def test_two_workers_share_the_secret_and_salt_and_each_drains_its_own_lane(clickhouse_server, ch, tmp_path):
    settings = ingest_settings(tmp_path / "home")
    project = seed_project(settings)
    headers = {"X-Feelback-Key": project.public_key, "User-Agent": BROWSER_UA}
    keys = [uuid.uuid4().hex for _ in range(40)]
    api = ApiProcess(settings, clickhouse_server.url, workers=2).start()
    try:
        # A new connection per request, so the kernel hands requests to either worker: an edit may
        # reach the worker that did not issue its token, and every visitor hash uses the same salt.
        created = [
            httpx.post(f"{api.url}/v1/signals", headers=headers, json={"content_set": "stars", "content_key": "/w", "value": 3, "idempotency_key": key})
            for key in keys
        ]  # fmt: skip
        assert [r.status_code for r in created] == [201] * len(keys)
        edited = [
            httpx.patch(f"{api.url}/v1/signals/{r.json()['signal_id']}", headers=headers,
                        json={"value": 6, "edit_token": r.json()["edit_token"], "idempotency_key": f"{key}-edit"})
            for r, key in zip(created, keys, strict=True)
        ]  # fmt: skip
        assert [r.status_code for r in edited] == [200] * len(keys), edited[0].text
        assert sorted(lane.name for lane in (settings.home / "spool").glob("lane-*")) == ["lane-0", "lane-1"]
        everything = keys + [f"{key}-edit" for key in keys]
        parameters = {"p": project.id, "keys": everything}
        count, _ = wait_for_rows(ch, COUNT_BY_KEYS.replace("count(), ", ""), parameters, len(everything))
        assert count == len(everything)
        assert ch.query(COUNT_BY_KEYS, parameters=parameters).result_rows[0] == (len(everything), len(everything))
        visitors = ch.query(
            "SELECT uniqExact(visitor_id) FROM raw.feedback_events WHERE project_id = {p:String} AND idempotency_key IN {keys:Array(String)}",
            parameters=parameters,
        ).result_rows[0][0]  # fmt: skip
        assert visitors == 1
    finally:
        api.kill(signal.SIGTERM)
    # Both workers took requests (80 connections; in trials they split about 60/40).
    assert all(any(lane.rglob("*.seg")) for lane in (settings.home / "spool").glob("lane-*"))


def test_the_drainer_waits_for_a_bigger_insert_only_while_traffic_is_heavy(tmp_path):
    """A lane that grew by ``busy_bytes`` since the last tick is sent once its segment is
    ``busy_seconds`` old; a quiet lane, or one whose traffic stopped, is sent at the next tick."""
    spool = Spool(tmp_path / "spool", max_bytes=10_000_000).open()
    drainer = Drainer(spool, get_client_never_called, interval_seconds=0.01, busy_bytes=2_000, busy_seconds=0.3)
    asyncio.run(spool.append([_row("quiet")]))
    assert drainer._due()  # a little traffic: send now
    asyncio.run(spool.append([_row(f"busy-{i}") for i in range(20)]))
    assert not drainer._due()  # heavy: wait for more
    asyncio.run(spool.append([_row(f"busier-{i}") for i in range(20)]))
    assert not drainer._due()
    assert drainer._due()  # nothing came since the last tick: send what there is
    asyncio.run(spool.append([_row(f"again-{i}") for i in range(20)]))
    time.sleep(0.3)
    assert drainer._due()  # heavy, but the segment is old enough
    spool.close()


def get_client_never_called():
    raise AssertionError("deciding when to drain needs no ClickHouse")
