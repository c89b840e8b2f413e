"""One warehouse build history for the whole session: two runs of the real Dagster job.

Days are relative to today (UTC): D1..D6 = today-14 .. today-9.

1. Phase A events (received D1..D3) → ``warehouse_build`` for the partition range D1..D3.
2. Phase B events (received D4, D5, and D6) → ``warehouse_build`` for the range D4..D5: an
   incremental backfill of a past range, which must pick up D4..D5 and leave D6 alone.

Two projects: ``scenario`` (America/New_York, content sets in the control plane, hand-written
events with exact expectations in the tests) and ``random`` (no control-plane rows, so default
rules and UTC; a random history checked against ``oracle``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest

from tests.pipelines.raw_events import RawEvents, random_history
from tests.pipelines.scenario import CONTENT_SETS, DAYS, SCENARIO_TIMEZONE, Scenario, at, content_day_rows


@dataclass
class WarehouseBuild:
    scenario: Scenario
    random_project_id: str
    random_rows: list[list]
    first_run: object
    second_run: object
    after_first: dict[tuple, dict]
    check_count: int


def _split(events: RawEvents, before: dt.datetime) -> tuple[RawEvents, RawEvents]:
    early, late = RawEvents(events.project_id), RawEvents(events.project_id)
    for row in events.rows:
        (early if row[-1] < before else late).rows.append(row)
    return early, late


def _create_scenario_project() -> str:
    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.models import ContentSet
    from feelback.control_plane.projects import create_project
    from feelback.settings import get_settings

    settings = get_settings()
    upgrade_control_plane(settings)
    with session_scope(settings) as session:
        project = create_project(session, f"pipelines {uuid.uuid4().hex[:6]}", timezone=SCENARIO_TIMEZONE).project
        for key, (signal_type, config, once) in CONTENT_SETS.items():
            session.add(ContentSet(project_id=project.id, key=key, signal_type=signal_type, config=config, one_per_visitor=once))
        return project.id


def _run(job, first_day: dt.date, last_day: dt.date):
    import dagster as dg

    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": first_day.isoformat(),
            "dagster/asset_partition_range_end": last_day.isoformat(),
        },
    )
    assert result.success
    return result


@pytest.fixture(scope="session")
def warehouse_build(clickhouse_server) -> WarehouseBuild:
    from pipelines.definitions import defs
    from warehouse.client import get_client

    job = defs.resolve_job_def("warehouse_build")
    scenario = Scenario(_create_scenario_project())
    random_project_id = f"random-{uuid.uuid4().hex[:6]}"
    history = random_history(seed=7, project_id=random_project_id, days=[DAYS[n] for n in range(1, 6)], signals_per_day=40)
    random_rows = list(history.rows)
    random_a, random_b = _split(history, at(4, "00:00:00"))

    client = get_client()
    try:
        scenario.phase_a().insert(client)
        random_a.insert(client)
        first_run = _run(job, DAYS[1], DAYS[3])
        after_first = content_day_rows(client, scenario.project_id)

        scenario.phase_b().insert(client)
        random_b.insert(client)
        second_run = _run(job, DAYS[4], DAYS[5])
    finally:
        client.close()
    check_count = len(list(job.asset_layer.asset_graph.asset_check_keys))
    return WarehouseBuild(scenario, random_project_id, random_rows, first_run, second_run, after_first, check_count)
