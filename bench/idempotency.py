"""What exactly-once across workers costs per operation: the shared idempotency store alone.

    .venv/bin/python bench/idempotency.py [--operations 50000] [--processes 2]

Each process claims and settles ``--operations`` new keys as the ingest path does: a single
operation claims in a transaction of its own, and settles grouped with the others of its spool
fsync (``--group``, as under load); a batch of 100 claims and settles once. Prints microseconds of
CPU per operation (process time; with ``--processes`` > 1 they contend for the write lock, as
``FEELBACK_API_WORKERS`` do). Not a test; ``bench/ingest.py`` gives the whole request's cost.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest_api.idempotency import Charge, IdempotencyStore, Settle, owner_of  # noqa: E402
from ingest_api.spool_replay import Answer  # noqa: E402

BODY = b'{"signal_id":"3f1c3c52-4d8e-5a53-9d0c-4f2b7e1f0a11","edit_token":"' + b"t" * 120 + b'","editable_until":"2026-12-06T11:00:00.000Z"}'


def run(folder: str, lane: str, operations: int, group: int, results) -> None:
    store = IdempotencyStore(Path(folder) / "idempotency", Path(folder) / "spool", owner_of(lane)).open()
    nonce = uuid.uuid4().hex
    charge = Charge(1, 1e9, 1e9)
    began = time.process_time()
    pending: list[Settle] = []
    for n in range(operations):
        key = f"{nonce}-{n}"
        store.claim("bench", [(key, "f" * 32, None)], charge=charge)
        pending.append(Settle(key, Answer(201, BODY, "f" * 32)))
        if len(pending) == group:
            store.settle("bench", pending)  # outside an event loop: written at once
            pending = []
    single = (time.process_time() - began) / operations
    began = time.process_time()
    for start in range(0, operations, 100):
        keys = [f"{nonce}-b{n}" for n in range(start, start + 100)]
        store.claim("bench", [(key, "f" * 32, None) for key in keys], charge=Charge(100, 1e9, 1e9))
        store.settle("bench", [Settle(key, Answer(201, BODY, "f" * 32)) for key in keys])
    batched = (time.process_time() - began) / operations
    store.close()
    results.put((single, batched))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=50_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--group", type=int, default=16, help="single operations settled together (one spool fsync)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-idempotency-")
    try:
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        workers = [context.Process(target=run, args=(folder, f"lane-{n}", args.operations, args.group, results)) for n in range(args.processes)]
        for worker in workers:
            worker.start()
        figures = [results.get() for _ in workers]
        for worker in workers:
            worker.join()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    singles, batched = [f[0] * 1e6 for f in figures], [f[1] * 1e6 for f in figures]
    print(f"{args.processes} processes x {args.operations:,} operations: single operation (claim + settle in groups of "
          f"{args.group}) {', '.join(f'{s:.1f}' for s in singles)} us CPU each; in batches of 100 "
          f"{', '.join(f'{b:.2f}' for b in batched)} us CPU each")  # fmt: skip


if __name__ == "__main__":
    main()
