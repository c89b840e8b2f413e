"""Dagster's parts of ``feelback up``: one long-lived code server, the webserver and the daemon.

The code location (workspace.yaml's ``pipelines.definitions``) runs as ONE ``dagster code-server``
that the webserver and the daemon both reach over gRPC, as ``dagster dev`` does. Left to load the
module themselves, the daemon would start a fresh code server every minute (Dagster's fixed workspace
refresh), each import taking seconds of CPU (up to ~30 s under load), and a Ctrl-C during one of
those loads printed its interrupted import as a long traceback. The UI's *Reload* still reloads code.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from feelback.settings import Settings
from feelback.stack import ROOT, Part
from warehouse.local_server.process import free_port

WORKSPACE = ROOT / "workspace.yaml"
RUNNING = ["STARTING", "STARTED", "CANCELING"]
# Each run worker imports the definitions, and Dagster warns about its beta APIs we use at each import.
BETA_WARNINGS_OFF = "ignore::Warning:dagster._core.decorator_utils"
CANCEL_PATIENCE_SECONDS = 20
_RUNS_QUERY = """query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) { __typename ... on Runs { results { runId } } }
}"""


def dagster_home(settings: Settings) -> Path:
    """DAGSTER_HOME under the Feelback home: SQLite storage, no telemetry, pools of one run."""
    home = (settings.home / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        # One warehouse build at a time: two dbt builds would interleave their deletes and inserts.
        config.write_text("telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n")
    return home


def code_server_log_level(settings: Settings) -> str:
    """A code server logs its start and stop (and warns about Dagster's beta APIs on import): at the
    default level that is noise, so it then logs only errors."""
    return "error" if settings.log_level.lower() == "warning" else settings.log_level


def _code_location() -> dict:
    """workspace.yaml's one ``python_module`` entry (``dagster dev`` reads the same file)."""
    (entry,) = yaml.safe_load(WORKSPACE.read_text())["load_from"]
    return entry["python_module"]


def dagster_parts(settings: Settings) -> list[Part]:
    home = dagster_home(settings)
    env = {"DAGSTER_HOME": str(home)}
    bin_dir = Path(sys.executable).parent
    location = _code_location()
    name = location.get("location_name", location["module_name"])
    port = free_port()
    workspace = home / "workspace.yaml"  # written at each start: the code server's port changes
    workspace.write_text(yaml.safe_dump({"load_from": [{"grpc_server": {"host": "127.0.0.1", "port": port, "location_name": name}}]}))
    dagster_url = f"http://127.0.0.1:{settings.dagster_port}"
    # The code server starts the runs: their step-by-step output (dbt's among it) is in each run's
    # page in the UI, and in this file; on the terminal it drowned the stack's own lines every night.
    runs_log = (settings.home / "logs" / "dagster-runs.log").resolve()
    return [
        Part(
            "dagster-code-server",
            [str(bin_dir / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(port),
             "-m", location["module_name"], "-a", location["attribute"], "-d", str(ROOT / location.get("working_directory", ".")),
             "--location-name", name, "--log-level", code_server_log_level(settings)],
            f"tcp://127.0.0.1:{port}",  # it listens once the definitions are loaded
            {},
            {**env, "PYTHONWARNINGS": BETA_WARNINGS_OFF},
            ready_timeout=300,
            log_file=runs_log,
        ),  # fmt: skip
        Part(
            "dagster-webserver",
            [str(bin_dir / "dagster-webserver"), "-w", str(workspace), "-h", "127.0.0.1", "-p", str(settings.dagster_port),
             "--log-level", settings.log_level],
            f"{dagster_url}/server_info",
            {"Dagster": dagster_url, "Dagster run output": f"{runs_log}  (and each run's page)"},
            env,
            muted=("Serving dagster-webserver on",),  # at any log level; its address is in our list of URLs
        ),  # fmt: skip
        Part(
            "dagster-daemon",
            [str(bin_dir / "dagster-daemon"), "run", "-w", str(workspace), "--log-level", settings.log_level],
            None,
            {},
            env,
            before_stop=lambda: cancel_running_runs(dagster_url),
        ),
    ]


def runs_of(dagster_url: str, statuses: list[str], job: str | None = None) -> list[str]:
    """Ids of the runs in one of ``statuses`` (of ``job``), from the webserver's GraphQL API."""
    run_filter = {"statuses": statuses, **({"pipelineName": job} if job else {})}
    body = json.dumps({"query": _RUNS_QUERY, "variables": {"filter": run_filter}})
    request = urllib.request.Request(f"{dagster_url}/graphql", body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        runs = json.load(response)["data"]["runsOrError"]
    if runs["__typename"] != "Runs":
        raise RuntimeError(f"Dagster could not list runs: {runs['__typename']}")
    return [run["runId"] for run in runs["results"]]


def cancel_running_runs(dagster_url: str, patience: float = CANCEL_PATIENCE_SECONDS) -> str:
    """Before the stack stops Dagster: terminate the runs in progress, as the UI's *Terminate* does,
    and wait until they are canceled. Killed with its code server instead, a run would stay
    "started" for good, holding its pool's slot (one build at a time): the next build would wait
    forever. Queued runs stay queued and start with the next ``feelback up``."""
    from dagster_graphql import DagsterGraphQLClient

    running = runs_of(dagster_url, RUNNING)
    if not running:
        return ""
    host, port = dagster_url.removeprefix("http://").rsplit(":", 1)
    DagsterGraphQLClient(host, port_number=int(port), timeout=30).terminate_runs(running)
    deadline = time.monotonic() + patience
    while runs_of(dagster_url, RUNNING) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = runs_of(dagster_url, RUNNING)
    return f"{len(running) - len(left)} run(s) canceled" + (f", {len(left)} still running" if left else "")
