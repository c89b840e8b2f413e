"""``feelback up`` brings the embedded stack up, every part answers, and Ctrl-C stops all of it."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import clickhouse_connect
from clickhouse_driver import Client as NativeClient
from dagster import DagsterInstance, DagsterRunStatus

from feelback.first_build import FIRST_BUILD_TAG
from pipelines.partitions import daily_partitions
from tests.polling import eventually
from warehouse.local_server.process import free_port

PARTS = ["dagster-daemon", "dagster-webserver", "dagster-code-server", "api", "warehouse"]  # in stopping order


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def dagster_runs(dagster_port: int) -> list[dict]:
    query = '{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }'
    request = urllib.request.Request(
        f"http://127.0.0.1:{dagster_port}/graphql", json.dumps({"query": query}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]["runsOrError"]["results"]


def start_stack(tmp_path, **ports: int) -> subprocess.Popen:
    """``feelback up`` in ``tmp_path`` on free ports (without Superset: tests/dashboards has it)."""
    env = {
        **os.environ,
        "FEELBACK_HOME": str(tmp_path / ".feelback"),
        "FEELBACK_CLICKHOUSE_URL": f"http://default:@127.0.0.1:{ports['http']}/default?native_port={ports['native']}",
        "FEELBACK_API_PORT": str(ports["api"]),
        "FEELBACK_DAGSTER_PORT": str(ports["dagster"]),
        "FEELBACK_LOG_LEVEL": "info",  # access logs on: none of them may show a client's address
        "FEELBACK_DASHBOARDS": "off",  # Superset in the stack: tests/dashboards
    }
    env.pop("FEELBACK_WAREHOUSE_DATA_DIR", None)
    env.pop("FEELBACK_DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "feelback", "up"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_up_runs_warehouse_api_and_dagster_until_ctrl_c(tmp_path):
    http_port, native_port, api_port, dagster_port = (free_port() for _ in range(4))
    stack = start_stack(tmp_path, http=http_port, native=native_port, api=api_port, dagster=dagster_port)
    output: list[str] = []
    up = threading.Event()
    launched = threading.Event()

    def read():
        for line in stack.stdout:
            output.append(line)
            if line.startswith("Feelback is up"):
                up.set()
            if line.startswith("first warehouse build"):
                launched.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert up.wait(240), "".join(output)[-3000:]
        time.sleep(0.5)
        printed = "".join(output)
        assert "warehouse: applied 0001_raw_feedback_events" in printed
        for url in (f"http://127.0.0.1:{http_port}", f"http://127.0.0.1:{api_port}/docs", f"http://127.0.0.1:{dagster_port}"):
            assert url in printed
        assert f"Mail outbox        {tmp_path / '.feelback' / 'outbox'}/" in printed  # where the sign-up mail lands
        assert answers(f"http://127.0.0.1:{api_port}/healthz")
        assert answers(f"http://127.0.0.1:{dagster_port}/server_info")
        http = clickhouse_connect.get_client(host="127.0.0.1", port=http_port)
        # a never-built warehouse: the demo project's sample history, and nothing else, before the first build
        seeded = re.search(r"demo: (\d+) sample signals of the last 28 days", printed)
        assert seeded and int(seeded.group(1)) > 0, printed
        assert http.query("SELECT uniqExact(project_id), count() FROM raw.feedback_events").result_rows == [(1, int(seeded.group(1)))]
        assert NativeClient("127.0.0.1", port=native_port).execute("SELECT 1") == [(1,)]
        # a fresh warehouse: its first build is launched through Dagster, for yesterday's partition
        assert launched.wait(120), "".join(output)[-3000:]
        partition = daily_partitions.get_last_partition_key()
        line = next(line for line in output if line.startswith("first warehouse build"))
        assert line.startswith(f"first warehouse build launched: warehouse_build for {partition}, "), line
        (run,) = dagster_runs(dagster_port)
        assert run["jobName"] == "warehouse_build" and run["runId"] in line
        tags = {tag["key"]: tag["value"] for tag in run["tags"]}
        assert tags["dagster/partition"] == partition and tags[FIRST_BUILD_TAG] == "true"
        deadline = time.monotonic() + 120
        while dagster_runs(dagster_port)[0]["status"] != "STARTED" and time.monotonic() < deadline:
            time.sleep(1)
        assert dagster_runs(dagster_port)[0]["status"] == "STARTED"
        # the run's step-by-step output goes to the runs' log, not to the stack's terminal
        runs_log = tmp_path / ".feelback" / "logs" / "dagster-runs.log"
        assert f"Dagster run output {runs_log}" in printed

        def run_logged():
            assert "STEP_WORKER_STARTED" in runs_log.read_text(), runs_log.read_text()[-2000:]

        eventually(run_logged, timeout=120)
        assert run["runId"] in runs_log.read_text()
        assert not [line for line in output if "STEP_" in line or run["runId"] in line and "dagster - " in line], output[-20:]
    finally:
        stopped_at = len(output)
        stack.send_signal(signal.SIGINT)
        stack.wait(timeout=60)
    reader.join(timeout=5)
    assert stack.returncode == 0, "".join(output)[-3000:]
    # Ctrl-C during the build: one line per part, in order, and nothing else (no traceback)
    farewell = [line.strip().split(":")[0] for line in output[stopped_at:]]
    assert farewell[farewell.index("stopping…") :] == ["stopping…", *PARTS], "".join(output[stopped_at:])
    assert "dagster-daemon: stopped" in "".join(output) and "1 run(s) canceled" in "".join(output)
    with DagsterInstance.from_config(str(tmp_path / ".feelback" / "dagster")) as instance:
        # the build in progress was canceled, not left "started" without a process, holding the pool's one slot
        assert instance.get_run_by_id(run["runId"]).status == DagsterRunStatus.CANCELED
        assert instance.event_log_storage.get_concurrency_info("warehouse_build").claimed_slots == []
    logged = [line for line in output if "127.0.0.1" in line and "://127.0.0.1:" not in line]  # not our URL lines
    assert '"GET /healthz HTTP/1.1" 200' in "".join(output) and not logged, logged[:5]
    assert not answers(f"http://127.0.0.1:{http_port}/ping")
    assert not answers(f"http://127.0.0.1:{api_port}/healthz")
    assert not answers(f"http://127.0.0.1:{dagster_port}/server_info")


def test_ctrl_c_while_dagster_loads_stops_at_once_and_quietly(tmp_path):
    """Ctrl-C before the stack is up (Dagster's code location still loading): no waiting for the
    rest to start, no traceback, one line per part started so far."""
    stack = start_stack(tmp_path, http=free_port(), native=free_port(), api=free_port(), dagster=free_port())
    output: list[str] = []
    for line in stack.stdout:
        output.append(line)
        if line.startswith("demo:"):  # migrated: the API, then Dagster's code server, are starting
            break
    time.sleep(3)
    stopped_at = len(output)
    stack.send_signal(signal.SIGINT)
    began = time.monotonic()
    output += stack.stdout.readlines()
    assert stack.wait(timeout=60) == 0 and time.monotonic() - began < 30
    farewell = [line.strip().split(":")[0] for line in output[stopped_at:]]
    farewell = farewell[farewell.index("stopping…") :]  # after the parts' last lines before Ctrl-C
    assert "Feelback is up:\n" not in output and "Traceback" not in "".join(output), "".join(output)
    assert farewell[0] == "stopping…" and farewell[1:] == PARTS[-len(farewell[1:]) :], "".join(output[stopped_at:])
    assert "dagster-code-server" in farewell or "api" in farewell
