"""Removing expired events: whole monthly partitions where possible, lightweight deletes elsewhere.

A partition (one month of every project's events) is dropped only when every row in it is expired
for the project it belongs to; otherwise each project's expired rows go by
``DELETE FROM ... WHERE project_id = ... AND received_at < cutoff``. Planning counts the rows first,
so a dry run reports exactly what a real run removes, and running again after a success (a retry)
finds nothing left to remove.

Event tables are ``raw.feedback_events`` and dbt's staging copy of it (``stg_feedback_events``);
aggregates are never touched.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from clickhouse_connect.driver.client import Client

from pipelines.defs.retention.policy import Cutoffs

RAW_EVENTS = "raw.feedback_events"
STAGED_EVENTS_NAME = "stg_feedback_events"
MONTHLY_PARTITION_KEY = "toYYYYMM(received_at)"
PARTITION_ID = re.compile(r"^[0-9]{6}$")


@dataclass
class TablePlan:
    table: str
    monthly_partitions: bool
    expired: dict[str, int] = field(default_factory=dict)  # project → rows to remove
    partitions_to_drop: list[str] = field(default_factory=list)
    deletes: dict[str, int] = field(default_factory=dict)  # project → rows removed by DELETE

    @property
    def rows(self) -> int:
        return sum(self.expired.values())


def quote_table(name: str) -> str:
    return ".".join(f"`{part}`" for part in name.split(".", 1))


def event_tables(client: Client) -> list[tuple[str, bool]]:
    """(database.table, partitioned by month of received_at) of every table holding raw events."""
    rows = client.query(
        """
        SELECT database, name, partition_key
        FROM system.tables
        WHERE (database = 'raw' AND name = 'feedback_events')
           OR (name = {staged:String} AND engine LIKE '%MergeTree')
        ORDER BY database = 'raw' DESC, database, name
        """,
        parameters={"staged": STAGED_EVENTS_NAME},
    ).result_rows
    return [(f"{database}.{name}", key.replace(" ", "") == MONTHLY_PARTITION_KEY) for database, name, key in rows]


def _cutoff_expression() -> str:
    return "transform(toString(project_id), {projects:Array(String)}, {cutoffs:Array(DateTime64(3, 'UTC'))}, {default_cutoff:DateTime64(3, 'UTC')})"


def _cutoff_parameters(cutoffs: Cutoffs) -> dict:
    projects = sorted(cutoffs.by_project)
    return {
        "projects": projects,
        "cutoffs": [cutoffs.by_project[p] for p in projects],
        "default_cutoff": cutoffs.default,
    }


def plan_table(client: Client, table: str, monthly_partitions: bool, cutoffs: Cutoffs) -> TablePlan:
    plan = TablePlan(table, monthly_partitions)
    # Only months that begin before the newest cutoff can hold anything expired.
    newest_cutoff = max([cutoffs.default, *cutoffs.by_project.values()])
    rows = client.query(
        f"""
        SELECT
            toString(project_id) AS project,
            _partition_id AS partition,
            count() AS rows,
            countIf(received_at < {_cutoff_expression()}) AS expired
        FROM {quote_table(table)}
        WHERE toStartOfMonth(received_at) < toStartOfMonth({{newest_cutoff:DateTime64(3, 'UTC')}}) + INTERVAL 1 MONTH
        GROUP BY project, partition
        """,
        parameters={**_cutoff_parameters(cutoffs), "newest_cutoff": newest_cutoff},
    ).result_rows
    by_partition: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for project, partition, total, expired in rows:
        by_partition[partition].append((project, total, expired))
        if expired:
            plan.expired[project] = plan.expired.get(project, 0) + expired
    for partition, members in sorted(by_partition.items()):
        if monthly_partitions and all(total == expired for _, total, expired in members):
            plan.partitions_to_drop.append(partition)
        else:
            for project, _, expired in members:
                if expired:
                    plan.deletes[project] = plan.deletes.get(project, 0) + expired
    return plan


def plan_expiry(client: Client, cutoffs: Cutoffs) -> list[TablePlan]:
    return [plan_table(client, table, monthly, cutoffs) for table, monthly in event_tables(client)]


def apply_plan(client: Client, plan: TablePlan, cutoffs: Cutoffs) -> None:
    for partition in plan.partitions_to_drop:
        if not PARTITION_ID.match(partition):
            raise ValueError(f"unexpected partition id {partition!r} in {plan.table}")
        client.command(f"ALTER TABLE {quote_table(plan.table)} DROP PARTITION ID '{partition}'")
    for project in sorted(plan.deletes):
        client.command(
            f"DELETE FROM {quote_table(plan.table)} WHERE project_id = {{project:String}} AND received_at < {{cutoff:DateTime64(3, 'UTC')}}",
            parameters={"project": project, "cutoff": cutoffs.of(project)},
        )
