"""The spool's backlog reaches ops.spool_backlog: recorded by the drainer at most every N seconds, kept
while ClickHouse is unreachable, sent once it is back, and never in the way of ingest."""

from __future__ import annotations

import asyncio

from ingest_api.spool import Spool
from ingest_api.spool_backlog import BacklogRecorder
from tests.api.spool_outage import backlog_rows, warehouse_outage


def test_an_outage_shows_as_a_growing_backlog_then_drains(clickhouse_server, ch, tmp_path):
    outage = warehouse_outage(clickhouse_server, ch, tmp_path / "home", seconds=3.0, every_seconds=0.5)
    rows = backlog_rows(ch, outage)
    during = [row for row in rows if outage.down_at <= row[0] < outage.back_at]
    assert len(during) >= 4, rows
    assert all(pending > 0 and segments >= 1 for _, pending, segments, _ in during[1:]), during
    assert during[-1][1] > during[1][1], "acknowledged signals pile up while the warehouse is away"
    assert during[-1][3] > during[1][3] >= 0, "the oldest pending segment ages"
    # At most one snapshot every 0.5 s (the drainer's monotonic clock; a busy machine may delay a
    # snapshot's wall-clock stamp, so count them over the whole span rather than compare two).
    span = (rows[-1][0] - rows[0][0]).total_seconds()
    assert len(rows) - 1 <= span / 0.5 + 1, (len(rows), span)
    assert rows[-1][1] == 0 and rows[-1][2] == 0 and rows[-1][3] == 0.0


def test_snapshots_wait_in_memory_while_the_warehouse_is_away(tmp_path, ch):
    spool = Spool(tmp_path / "spool", max_bytes=1_000_000).open()
    try:
        recorder = BacklogRecorder(spool, every_seconds=0, keep=3, host=f"memory-{tmp_path.name}")
        asyncio.run(spool.append([b'{"a":1}']))
        for _ in range(5):
            assert recorder.record()

        def unreachable():
            raise ConnectionRefusedError("ClickHouse is away")

        assert recorder.send(unreachable) == 0
        assert recorder.send(lambda: ch) == 3, "the newest `keep` snapshots, kept through the failure"
        rows = ch.query(
            "SELECT lane, pending_bytes, pending_segments, budget_bytes FROM ops.spool_backlog WHERE host = {h:String}",
            parameters={"h": recorder.host},
        ).result_rows
        assert rows == [(spool.lane.name, spool.undrained_bytes, 1, 1_000_000)] * 3
        assert recorder.send(lambda: ch) == 0
    finally:
        spool.close()
