"""The local server's lifecycle, each test on a server and data directory of its own."""

import signal

import clickhouse_connect
import pytest

from feelback.stack import STOP_GRACE_SECONDS
from warehouse.local_server.process import ServerProcess


def client_for(server: ServerProcess):
    return clickhouse_connect.get_client(host=server.host, port=server.http_port, password=server.password)


@pytest.fixture()
def own_server(tmp_path):
    server = ServerProcess(data_dir=tmp_path / "clickhouse").start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_within_the_stacks_grace_and_restart_finds_every_acknowledged_row(own_server, sig):
    """Exits cleanly before ``feelback up`` would kill it (its stop grace, the behaviour that matters;
    a tighter figure would only measure the machine's load)."""
    client = client_for(own_server)
    client.command("CREATE TABLE kept (n UInt64) ENGINE = MergeTree ORDER BY n")
    client.insert("kept", [[n] for n in range(1000)], column_names=["n"])
    client.close()

    assert own_server.stop(sig, timeout=STOP_GRACE_SECONDS) < STOP_GRACE_SECONDS
    assert own_server.process.returncode == 0

    own_server.start()
    assert client_for(own_server).query("SELECT count(), sum(n) FROM kept").result_rows == [(1000, 499500)]


def test_a_second_server_on_the_same_directory_exits_at_once(own_server):
    rival = ServerProcess(data_dir=own_server.data_dir).spawn()
    _, stderr = rival.communicate(timeout=30)
    assert rival.returncode != 0
    assert "another Feelback warehouse server" in stderr and str(own_server.data_dir) in stderr
    assert client_for(own_server).command("SELECT 1") == 1
