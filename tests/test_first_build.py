"""``feelback up`` launches a first warehouse build only when no build has completed (feelback.first_build)."""

import io
import os
import threading
import uuid

from feelback.first_build import start_first_build, warehouse_built
from feelback.settings import Settings
from feelback.stack import _relay
from warehouse.local_server.process import free_port


def test_built_means_a_watermark_row(ch):
    marts = f"first_build_{uuid.uuid4().hex[:8]}"
    ch.command(f"CREATE DATABASE {marts}")
    try:
        assert not warehouse_built(ch, marts)  # no marts at all
        ch.command(f"CREATE TABLE {marts}.build_watermarks (max_received_at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY tuple()")
        assert not warehouse_built(ch, marts)  # a build that failed before its last mart
        ch.command(f"INSERT INTO {marts}.build_watermarks VALUES (now64(3))")
        assert warehouse_built(ch, marts)
    finally:
        ch.command(f"DROP DATABASE {marts}")


def test_without_dagster_the_launch_is_one_line_and_no_failure(ch, tmp_path):
    settings = Settings(home=tmp_path, dagster_port=free_port())  # nothing listens there
    said: list[str] = []
    start_first_build(settings, said.append, marts=f"never_built_{uuid.uuid4().hex[:8]}").join(timeout=60)
    assert len(said) == 1 and said[0].startswith("first warehouse build not launched (URLError"), said
    assert "launch it in Dagster" in said[0]


def test_the_relay_drops_muted_lines_and_everything_once_stopping():
    read, write = os.pipe()
    with os.fdopen(write, "wb") as pipe:
        pipe.write(b"Loaded your LOCAL configuration at [x]\nserving on 127.0.0.1\n")
    sink, quiet = io.StringIO(), threading.Event()
    _relay(os.fdopen(read, "rb"), ("Loaded your LOCAL configuration",), quiet, sink)
    assert sink.getvalue().startswith("serving on ip-") and "LOCAL" not in sink.getvalue()
    read, write = os.pipe()
    with os.fdopen(write, "wb") as pipe:
        pipe.write(b"Traceback (most recent call last):\n")
    quiet.set()
    _relay(os.fdopen(read, "rb"), (), quiet, sink := io.StringIO())
    assert sink.getvalue() == ""


def test_a_part_with_a_log_file_keeps_its_lines_there_and_shows_their_end(tmp_path):
    from feelback.stack import Part

    log = tmp_path / "logs" / "runs.log"
    log.parent.mkdir()
    read, write = os.pipe()
    with os.fdopen(write, "wb") as pipe:
        pipe.write(b"".join(b"step %d from 10.1.2.3\n" % n for n in range(50)))
    with open(log, "a", encoding="utf-8") as sink:
        _relay(os.fdopen(read, "rb"), (), threading.Event(), sink)
    part = Part("dagster-code-server", [], None, {}, log_file=log)
    tail = part.log_tail(lines=3).splitlines()
    assert tail[0] == f"last lines of {log}:" and [line.split(" from ")[0] for line in tail[1:]] == ["step 47", "step 48", "step 49"]
    assert "10.1.2.3" not in log.read_text()  # no address in the file either
    assert Part("api", [], None, {}).log_tail() == ""
