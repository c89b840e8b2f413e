"""The first warehouse build of a fresh stack, launched by ``feelback up`` through Dagster.

Dagster's ``warehouse_build`` job builds dbt's marts each night for the day before. On a fresh stack
no build has run yet, so the dashboards (and everything else reading the marts) would wait for the
night: ``feelback up`` launches the job once itself, through the Dagster webserver it started (the run
shows in Dagster's UI with its logs), for the latest complete daily partition. A first build is not
incremental: it reads every raw event received so far, today's included (dbt_project/macros/batch.sql).

It runs in a thread of its own: the stack's start never waits for it, and whatever goes wrong is
one printed line, never a stop of the stack.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from clickhouse_connect.driver.client import Client

from feelback.settings import Settings

JOB = "warehouse_build"
MARTS = "analytics"  # dbt's marts schema
FIRST_BUILD_TAG = "feelback/first-build"
SUBMIT_PATIENCE_SECONDS = 120  # the webserver may still be loading the code location
# The run's events go to Dagster's event log (its UI shows them all); its console copy, relayed to
# the terminal of `feelback up`, is warnings only instead of some 450 lines of DEBUG events.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def warehouse_built(client: Client, marts: str = MARTS) -> bool:
    """A build has completed: dbt writes a row to ``build_watermarks`` after every other mart (the
    watermark the stats API reads, ingest_api/stats/queries.py ``read_watermark``)."""
    exists = client.command(
        "SELECT count() FROM system.tables WHERE database = {marts:String} AND name = 'build_watermarks'",
        parameters={"marts": marts},
    )
    return bool(exists) and int(client.command(f"SELECT count() FROM `{marts}`.build_watermarks")) > 0


def latest_complete_partition() -> str:
    """The newest daily partition of the job: yesterday (UTC), the one tonight's schedule would build."""
    from pipelines.partitions import daily_partitions

    return daily_partitions.get_last_partition_key()


def builds_in_flight(dagster_url: str) -> list[str]:
    """Ids of the job's runs queued or running (a previous start's first build, tonight's run)."""
    from feelback.dagster_stack import runs_of

    return runs_of(dagster_url, ["QUEUED", "NOT_STARTED", "STARTING", "STARTED"], JOB)


def submit_build(host: str, port: int, partition: str, patience: float = SUBMIT_PATIENCE_SECONDS) -> str:
    """Launch the job for ``partition`` as the UI's *Materialize* would; the run's id. Retries while
    the webserver does not know the job yet (its code location still loading)."""
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    client = DagsterGraphQLClient(host, port_number=port, timeout=30)
    deadline = time.monotonic() + patience
    while True:
        try:
            return client.submit_job_execution(
                JOB, run_config=QUIET_CONSOLE, tags={"dagster/partition": partition, FIRST_BUILD_TAG: "true"}
            )
        except DagsterGraphQLClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def launch_first_build(settings: Settings, say: Callable[[str], None], marts: str = MARTS) -> str | None:
    """Launch the first build if the warehouse was never built and none is in flight; the run id."""
    from warehouse.client import get_client

    client = get_client(settings)
    try:
        if warehouse_built(client, marts):
            return None
    finally:
        client.close()
    dagster_url = f"http://127.0.0.1:{settings.dagster_port}"
    in_flight = builds_in_flight(dagster_url)
    if in_flight:
        say(f"first warehouse build already under way: {dagster_url}/runs/{in_flight[0]}")
        return None
    partition = latest_complete_partition()
    run_id = submit_build("127.0.0.1", settings.dagster_port, partition)
    say(
        f"first warehouse build launched: {JOB} for {partition}, {dagster_url}/runs/{run_id} "
        "(the dashboards fill when it succeeds)"
    )
    return run_id


def start_first_build(settings: Settings, say: Callable[[str], None], marts: str = MARTS) -> threading.Thread:
    """``launch_first_build`` in a daemon thread: the stack neither waits for it nor fails with it."""

    def run() -> None:
        try:
            launch_first_build(settings, say, marts)
        except Exception as exc:  # any failure is one line: the nightly schedule builds anyway
            say(f"first warehouse build not launched ({type(exc).__name__}: {exc}); launch it in Dagster")

    thread = threading.Thread(target=run, name="first-warehouse-build", daemon=True)
    thread.start()
    return thread
