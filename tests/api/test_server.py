"""``ingest_api.server``: uvicorn workers with a listening socket each (SO_REUSEPORT).

Real processes on loopback: the server as ``feelback up`` starts it, serving a tiny app that answers
with its worker's process id.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from warehouse.local_server.process import child_pids, free_port

REPO = Path(__file__).resolve().parents[2]


async def _pids_of_simultaneous_connections(port: int, count: int, timeout: float = 10) -> list[int]:
    """Open ``count`` connections at once, then ask each which worker holds it."""
    connections = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(count)))

    async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
        writer.write(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout)
        writer.close()
        return int(answer.rsplit(b"\r\n\r\n", 1)[1])

    return await asyncio.gather(*(ask(reader, writer) for reader, writer in connections))


def _pids_answering(port: int, count: int) -> set[int]:
    """The workers that answered ``count`` simultaneous connections; empty while none listens."""
    try:
        return set(asyncio.run(_pids_of_simultaneous_connections(port, count, timeout=2)))
    except OSError:  # refused, or timed out
        return set()


def _workers(parent: int) -> set[int]:
    """The server's worker processes (its other child is multiprocessing's resource tracker)."""
    return {pid for pid in child_pids(parent) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()}


@pytest.fixture
def two_workers():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest_api.server", "tests.api.worker_pid_app:app", "--port", str(port), "--workers", "2"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(_pids_answering(port, 8)) < 2:
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "the two workers did not both start serving"
            time.sleep(0.2)
        yield process, port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_a_burst_of_connections_is_spread_over_the_workers(two_workers):
    process, port = two_workers
    workers = _workers(process.pid)
    # 64 connections opened at once: with one shared socket, the first worker to wake often took them all.
    pids = asyncio.run(_pids_of_simultaneous_connections(port, 64))
    assert set(pids) <= workers
    shares = sorted(pids.count(pid) for pid in set(pids))
    assert len(shares) == 2 and shares[0] >= 12, f"connections per worker: {shares}"


def test_a_killed_worker_is_replaced_on_its_own_socket_and_no_connection_is_lost(two_workers):
    process, port = two_workers
    victim = min(_workers(process.pid))
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        # Connections hashed to the dead worker's socket wait in its queue for the replacement.
        pids = asyncio.run(_pids_of_simultaneous_connections(port, 32, timeout=30))
        assert victim not in pids
        if len(set(pids)) == 2:
            break
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        time.sleep(0.2)
    assert set(pids) <= _workers(process.pid)


def test_sighup_replaces_every_worker_while_connections_keep_being_answered(two_workers):
    process, port = two_workers
    before = _workers(process.pid)
    process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while True:
        # A connection hashed to a socket that no worker serves would time out here.
        pids = set(asyncio.run(_pids_of_simultaneous_connections(port, 32, timeout=30)))
        if len(pids) == 2 and not pids & before and _workers(process.pid) == pids:
            break
        assert time.monotonic() < deadline, f"workers before SIGHUP {before}, answering now {pids}"
        time.sleep(0.2)


@pytest.mark.parametrize("workers", [1, 2])
def test_an_app_that_cannot_start_ends_the_server_with_an_error(workers):
    run = subprocess.run(
        [sys.executable, "-m", "ingest_api.server", "tests.api.no_such_module:app", "--port", str(free_port()), "--workers", str(workers)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 3  # uvicorn's STARTUP_FAILURE
    assert 'Could not import module "tests.api.no_such_module"' in run.stdout + run.stderr


def test_workers_must_be_at_least_one():
    run = subprocess.run([sys.executable, "-m", "ingest_api.server", "tests.api.worker_pid_app:app", "--workers", "0"],
                         cwd=REPO, capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 2
    assert "--workers must be 1 or more (got 0)" in run.stderr
