"""Exactly once on one machine, whatever the timing: concurrent retries, retries that reach another
worker, a worker's crash; a revoke is final; a batch costs its operations against the rate limit.

Each test runs the API as ``feelback up`` does (``ApiProcess``) against the shared local ClickHouse.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.api.ingest_support import BROWSER_UA, ApiProcess, ingest_settings, seed_project, wait_for_rows
from warehouse.local_server.process import child_pids

ROWS_BY_KEY = "SELECT count() FROM raw.feedback_events WHERE project_id = {p:String} AND idempotency_key = {k:String}"


@pytest.fixture(scope="module")
def two_workers(clickhouse_server, tmp_path_factory):
    settings = ingest_settings(tmp_path_factory.mktemp("exactly-once"), spool_drain_interval_ms=100)
    project = seed_project(settings)
    api = ApiProcess(settings, clickhouse_server.url, workers=2).start()
    api.project = project
    api.headers = {"X-Feelback-Key": project.public_key, "User-Agent": BROWSER_UA}
    yield api
    api.kill(signal.SIGTERM)


def new_connection(api, method: str, path: str, **kwargs) -> httpx.Response:
    """A request on a connection of its own, so the kernel may hand it to either worker."""
    return httpx.request(method, f"{api.url}{path}", headers={**api.headers, **kwargs.pop("headers", {})}, timeout=30, **kwargs)


def concurrently(api, requests: list[tuple[str, str, dict]]) -> list[httpx.Response]:
    """All ``requests`` (method, path, json) at once, each on its own connection."""

    async def run() -> list[httpx.Response]:
        async def one(method: str, path: str, body: dict) -> httpx.Response:
            async with httpx.AsyncClient(base_url=api.url, headers=api.headers, timeout=30) as client:
                return await client.request(method, path, json=body)

        return await asyncio.gather(*(one(*request) for request in requests))

    return asyncio.run(run())


def workers_of(api) -> set[int]:
    """The API's worker processes (its other child is multiprocessing's resource tracker)."""
    return {pid for pid in child_pids(api.process.pid) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()}


def stored(ch, project_id: str, key: str, settle: float = 0.6) -> int:
    """Rows of ``key`` once the spool had time to drain (a duplicate would arrive with the first)."""
    count, _ = wait_for_rows(ch, ROWS_BY_KEY, {"p": project_id, "k": key}, 1)
    time.sleep(settle)
    return ch.query(ROWS_BY_KEY, parameters={"p": project_id, "k": key}).result_rows[0][0]


# --- 1. concurrent retries of a batch ---------------------------------------------------------


def test_concurrent_retries_of_a_batch_are_stored_once(clickhouse_server, ch, tmp_path):
    """20 copies of a batch at once, while the content set's rules are not cached (a fresh API
    process): one row, one answer; the same key with another body at the same time is a 409."""
    settings = ingest_settings(tmp_path / "home", spool_drain_interval_ms=100)
    project = seed_project(settings)
    api = ApiProcess(settings, clickhouse_server.url, workers=1).start()
    api.headers = {"X-Feelback-Key": project.public_key, "User-Agent": BROWSER_UA}
    try:
        key = uuid.uuid4().hex
        operation = {"op": "create", "content_set": "stars", "content_key": "/race", "value": 5, "idempotency_key": key}
        responses = concurrently(api, [("POST", "/v1/batch", {"operations": [operation]})] * 20)
        assert [r.status_code for r in responses] == [200] * 20
        results = [r.json()["results"][0] for r in responses]
        assert [result["status"] for result in results] == [201] * 20
        assert all(result == results[0] for result in results)
        assert stored(ch, project.id, key) == 1

        other = uuid.uuid4().hex  # the thumbs set's rules are not cached yet either
        first = {"op": "create", "content_set": "thumbs", "content_key": "/race", "value": "up", "idempotency_key": other}
        second = {**first, "value": "down"}
        responses = concurrently(api, [("POST", "/v1/batch", {"operations": [op]}) for op in [first, second] * 10])
        results = [r.json()["results"][0] for r in responses]
        statuses = sorted(result["status"] for result in results)
        assert statuses == [201] * 10 + [409] * 10, statuses
        winners = {r["body"]["signal_id"] for r in results if r["status"] == 201}
        assert len(winners) == 1
        assert {r["body"]["error"]["code"] for r in results if r["status"] == 409} == {"idempotency_key_reused"}
        assert stored(ch, project.id, other) == 1
    finally:
        api.kill(signal.SIGTERM)


# --- 2. idempotency shared by the workers -----------------------------------------------------


def test_a_retry_on_any_worker_is_stored_once_and_gets_the_first_answer(two_workers, ch):
    api = two_workers
    key = uuid.uuid4().hex
    body = {"content_set": "stars", "content_key": "/workers", "value": 4, "idempotency_key": key}
    answers = [new_connection(api, "POST", "/v1/signals", json=body) for _ in range(16)]
    answers += concurrently(api, [("POST", "/v1/signals", body)] * 16)
    assert [r.status_code for r in answers] == [201] * 32
    assert all(r.json() == answers[0].json() for r in answers)
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in answers) == 31
    assert stored(ch, api.project.id, key) == 1

    # Another body under the used key: refused on every worker.
    refused = [new_connection(api, "POST", "/v1/signals", json={**body, "value": 2}) for _ in range(16)]
    assert [r.status_code for r in refused] == [409] * 16
    assert {r.json()["error"]["code"] for r in refused} == {"idempotency_key_reused"}

    # The same for an edit and for a batch, racing on both workers.
    signal_id, token = answers[0].json()["signal_id"], answers[0].json()["edit_token"]
    edit_key = uuid.uuid4().hex
    edit = {"edit_token": token, "value": 6, "idempotency_key": edit_key}
    edits = concurrently(api, [("PATCH", f"/v1/signals/{signal_id}", edit)] * 12)
    assert [r.status_code for r in edits] == [200] * 12 and all(r.json() == edits[0].json() for r in edits)
    batch_key = uuid.uuid4().hex
    operation = {"op": "create", "content_set": "votes", "content_key": "/workers", "value": "yes", "idempotency_key": batch_key}
    batches = concurrently(api, [("POST", "/v1/batch", {"operations": [operation]})] * 12)
    assert {r.json()["results"][0]["status"] for r in batches} == {201}
    assert stored(ch, api.project.id, edit_key, settle=0) == 1
    assert stored(ch, api.project.id, batch_key) == 1


def test_a_workers_crash_forgets_no_answer(two_workers, ch):
    """SIGKILL both workers (the server starts new ones): retries still get the first answer."""
    api = two_workers
    keys = [uuid.uuid4().hex for _ in range(8)]
    bodies = [{"content_set": "votes", "content_key": "/crash", "value": "no", "idempotency_key": k} for k in keys]
    first = [new_connection(api, "POST", "/v1/signals", json=body).json() for body in bodies]
    workers = workers_of(api)
    assert len(workers) == 2
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        fresh = workers_of(api) - workers
        if len(fresh) == 2:
            try:
                if new_connection(api, "GET", "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    again = [new_connection(api, "POST", "/v1/signals", json=body) for body in bodies for _ in range(3)]
    assert [r.status_code for r in again] == [201] * len(again)
    assert [r.json() for r in again] == [answer for answer in first for _ in range(3)]
    for key in keys:
        assert stored(ch, api.project.id, key, settle=0) == 1


def test_an_operation_in_flight_when_its_worker_died_is_settled_by_the_next_attempt(tmp_path):
    """A pending claim whose owner is gone: its answer is found in the dead owner's spool lane when
    the operation got there, else the next attempt takes the claim over."""
    from ingest_api.idempotency import Claim, IdempotencyStore
    from ingest_api.spool import Spool
    from ingest_api.spool_replay import Answer, replay_notes

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_owner = f"{dead.stdout.strip()}:1:lane-0"
    spool = Spool(tmp_path / "spool", max_bytes=10_000_000).open()
    crashed = IdempotencyStore(tmp_path / "idempotency", spool.root, owner=dead_owner).open()
    assert [c.kind for c in crashed.claim("p", [("spooled", "fp-1", None), ("lost", "fp-2", None)])] == [Claim.MINE, Claim.MINE]
    answer = Answer(201, b'{"signal_id":"s"}', "fp-1")
    asyncio.run(spool.append([b'{"idempotency_key":"spooled"}'], replay_notes("p", [("spooled", answer)])))
    crashed.close()  # died before settling either claim
    spool.close()

    live = IdempotencyStore(tmp_path / "idempotency", spool.root, owner=f"{os.getpid()}:{time.time_ns()}:lane-1").open()
    found, lost = live.claim("p", [("spooled", "fp-1", None), ("lost", "fp-2", None)])
    assert (found.kind, found.answer) == (Claim.ANSWERED, answer)
    assert lost.kind == Claim.MINE
    live.close()


# --- 3. a revoke is final ---------------------------------------------------------------------


def test_a_revoked_signal_cannot_be_edited_or_revoked_again_on_any_worker(two_workers):
    api = two_workers
    created = new_connection(api, "POST", "/v1/signals", json={"content_set": "stars", "content_key": "/final", "value": 3}).json()
    path, token = f"/v1/signals/{created['signal_id']}", created["edit_token"]
    revoke_key = uuid.uuid4().hex
    revoked = new_connection(api, "DELETE", path, headers={"X-Feelback-Edit-Token": token, "Idempotency-Key": revoke_key})
    assert revoked.status_code == 200
    for _ in range(6):  # on either worker
        edit = new_connection(api, "PATCH", path, json={"edit_token": token, "value": 5})
        assert edit.status_code == 409, edit.text
        assert edit.json()["error"]["code"] == "signal_revoked"
        assert "was revoked" in edit.json()["error"]["message"]
        again = new_connection(api, "DELETE", path, headers={"X-Feelback-Edit-Token": token})
        assert again.status_code == 409 and again.json()["error"]["code"] == "signal_revoked"
        retry = new_connection(api, "DELETE", path, headers={"X-Feelback-Edit-Token": token, "Idempotency-Key": revoke_key})
        assert retry.status_code == 200 and retry.json() == revoked.json()
    in_batch = new_connection(api, "POST", "/v1/batch", json={"operations": [
        {"op": "edit", "signal_id": created["signal_id"], "edit_token": token, "value": 2},
        {"op": "revoke", "signal_id": created["signal_id"], "edit_token": token},
    ]})  # fmt: skip
    assert [r["status"] for r in in_batch.json()["results"]] == [409, 409]


def test_the_listing_treats_a_revoke_as_final_whatever_came_after(two_workers, ch):
    """An edit stored after a revoke (say by another machine, which could not know): still revoked."""
    from tests.pipelines.raw_events import RawEvents

    api = two_workers
    created = new_connection(api, "POST", "/v1/signals", json={"content_set": "votes", "content_key": "/listing", "value": "yes"}).json()
    path, token = f"/v1/signals/{created['signal_id']}", created["edit_token"]
    assert new_connection(api, "DELETE", path, headers={"X-Feelback-Edit-Token": token}).status_code == 200
    wait_for_rows(ch, "SELECT count() FROM raw.feedback_events WHERE signal_id = {s:UUID}", {"s": created["signal_id"]}, 2)
    late = RawEvents(api.project.id)
    late.add(uuid.UUID(created["signal_id"]), "edit", "yesno", f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(time.time() + 1))}",
             content_set="votes", content_key="/listing", value=-1)  # fmt: skip
    late.insert(ch)
    listing = httpx.get(
        f"{api.url}/v1/projects/{api.project.id}/signals", params={"content_key": "/listing"},
        headers={"Authorization": f"Bearer {api.project.secret_key}"},
    )  # fmt: skip
    assert listing.status_code == 200
    assert [s["signal_id"] for s in listing.json()["signals"]] == []


# --- 7. a batch costs its operations ----------------------------------------------------------


def test_a_batch_costs_its_operations_and_one_over_the_burst_is_refused(clickhouse_server, ch, tmp_path):
    settings = ingest_settings(tmp_path / "home", spool_drain_interval_ms=100)
    project = seed_project(settings)
    api = ApiProcess(settings, clickhouse_server.url, workers=2, FEELBACK_RATE_LIMIT_PROJECT_PER_SECOND="20").start()
    api.headers = {"X-Feelback-Key": project.public_key, "User-Agent": BROWSER_UA}
    try:
        def operations(count: int, nonce: str) -> dict:
            return {"operations": [
                {"op": "create", "content_set": "hearts", "content_key": f"/{i}", "idempotency_key": f"{nonce}-{i}"} for i in range(count)
            ]}  # fmt: skip

        too_big = new_connection(api, "POST", "/v1/batch", json=operations(21, "big"))
        assert too_big.status_code == 413, too_big.text
        assert "20" in too_big.json()["error"]["message"] and "rate limit" in too_big.json()["error"]["message"]

        began = time.monotonic()
        accepted = 0
        nonce = uuid.uuid4().hex[:8]
        for n in range(12):  # 240 operations offered in about a second
            response = new_connection(api, "POST", "/v1/batch", json=operations(20, f"{nonce}-{n}"))
            assert response.status_code in (200, 429), response.text
            if response.status_code == 200:
                accepted += 20
        elapsed = time.monotonic() - began
        # One burst and the refill of the elapsed time, shared by both workers.
        assert 20 <= accepted <= 20 + 20 * elapsed + 1, (accepted, elapsed)
        time.sleep(0.5)
        rows = ch.query(
            "SELECT count() FROM raw.feedback_events WHERE project_id = {p:String} AND startsWith(idempotency_key, {n:String})",
            parameters={"p": project.id, "n": nonce},
        ).result_rows[0][0]  # fmt: skip
        assert rows == accepted
    finally:
        api.kill(signal.SIGTERM)


def test_the_store_keeps_the_newest_answers_within_its_map(tmp_path):
    """Generations turn by count and by size, so answers larger than planned never fill the map."""
    from ingest_api.idempotency import Claim, IdempotencyStore, Settle, owner_of
    from ingest_api.spool_replay import Answer

    store = IdempotencyStore(tmp_path / "idempotency", tmp_path / "spool", owner_of("lane-0"), capacity=10**9, map_size=8 << 20).open()
    try:
        for n in range(40_000):  # about 16 MB of answers through an 8 MB map
            (claim,) = store.claim("p", [(f"k{n}", "fp", None)])
            assert claim.kind == Claim.MINE
            store.settle("p", [Settle(f"k{n}", Answer(201, b"x" * 400, "fp"))])
        newest = store.claim("p", [("k39999", "fp", None)])[0]
        assert (newest.kind, newest.answer) == (Claim.ANSWERED, Answer(201, b"x" * 400, "fp"))
        assert store.claim("p", [("k0", "fp", None)])[0].kind == Claim.MINE  # forgotten long ago
    finally:
        store.close()


def test_a_claim_whose_request_went_away_is_given_back(tmp_path):
    """Claims are written once per turn of the event loop; a request cancelled before its turn (the
    client left) does not keep its keys claimed, or every retry would wait for it."""
    from ingest_api.idempotency import Claim, IdempotencyStore, owner_of

    store = IdempotencyStore(tmp_path / "idempotency", tmp_path / "spool", owner_of("lane-0")).open()

    async def run() -> tuple[str, str]:
        gone = store.claim_soon("p", [("left", "fp", None)])
        kept = store.claim_soon("p", [("kept", "fp", None)])
        gone.cancel()
        (claim,) = await kept
        for _ in range(3):  # the give-back is settled in a later turn
            await asyncio.sleep(0)
        return claim.kind, store.claim("p", [("left", "fp", None)])[0].kind

    try:
        assert asyncio.run(run()) == (Claim.MINE, Claim.MINE)
    finally:
        store.close()
