"""The retention job: erasures, expired events and leftovers, weekly and on demand, with a dry run.

Run config (one block for the whole job): ``dry_run`` (count and report, remove nothing) and
``as_of`` (ISO instant the cutoffs are measured from; default: the run's start). Every step plans
from what is there now, so a retried or repeated run removes nothing twice; each step reports what
it removed (or would remove) as output metadata, per project.
"""

import datetime as dt

import dagster as dg

from feelback.settings import get_settings
from pipelines.defs.retention import erasure, events, leftovers
from pipelines.defs.retention.policy import retention_cutoffs
from pipelines.defs.retention.rebuild import facts_exist, rebuild_aggregates
from warehouse.client import get_client

RETENTION_RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)
STEP_CONFIG = {"dry_run": dg.Field(bool, default_value=False), "as_of": dg.Field(str, default_value="")}
STEPS = ("carry_out_erasures", "rebuild_after_erasures", "expire_events", "remove_leftovers")


def _as_of(config: dict) -> dt.datetime:
    if not config["as_of"]:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(config["as_of"])
    except ValueError:
        raise dg.Failure(f"as_of {config['as_of']!r} is not an ISO date and time, e.g. 2025-03-01T00:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _table(header: tuple[str, ...], rows: list[tuple]) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines) if rows else "nothing")


@dg.op(config_schema=STEP_CONFIG, out=dg.Out(dict), description="Deletes every row of each pending erasure request.")
def carry_out_erasures(context: dg.OpExecutionContext) -> dict:
    """Requests stay ``running`` until the aggregates are rebuilt, so a run that stops in between redoes both."""
    settings, dry_run = get_settings(), context.op_config["dry_run"]
    client = get_client(settings)
    touched: list[dict] = []
    report = []
    try:
        for request in erasure.pending_erasures(settings):
            try:
                if not dry_run:
                    erasure.mark_running(settings, request)
                result = erasure.erase(client, request, dry_run)
            except Exception as exc:
                if not dry_run:
                    erasure.mark_failed(settings, request, f"{type(exc).__name__}: {exc}")
                raise
            report.append((request.request_id, request.project_id, request.subject, result.total, ", ".join(f"{t}: {n}" for t, n in result.rows.items())))
            touched += [{"project": request.project_id, "day": day.isoformat()} for day in result.touched_days]
    finally:
        client.close()
    context.add_output_metadata(
        {
            "dry_run": dry_run,
            "requests": len(report),
            "rows_removed" if not dry_run else "rows_to_remove": sum(row[3] for row in report),
            "erasures": _table(("request", "project", "subject", "rows", "per table"), report),
            "touched_days": dg.MetadataValue.json(touched),
        }
    )
    return {"requests": [row[0] for row in report], "touched_days": touched}


@dg.op(config_schema=STEP_CONFIG, description="Rebuilds the aggregates from the facts after erasures, then closes the requests.")
def rebuild_after_erasures(context: dg.OpExecutionContext, erased: dict) -> None:
    settings = get_settings()
    if not erased["requests"] or context.op_config["dry_run"]:
        context.add_output_metadata({"rebuilt": False, "requests": len(erased["requests"])})
        return
    client = get_client(settings)
    try:
        have_marts = facts_exist(client)
    finally:
        client.close()
    # Without marts (dbt never ran) there is nothing derived to correct.
    command = rebuild_aggregates(settings) if have_marts else ["nothing to rebuild: no marts yet"]
    for request_id in erased["requests"]:
        erasure.mark_done(settings, request_id)
    context.add_output_metadata(
        {"rebuilt": True, "requests": len(erased["requests"]), "touched_days": len(erased["touched_days"]), "command": " ".join(command)}
    )


@dg.op(config_schema=STEP_CONFIG, ins={"after": dg.In(dg.Nothing)}, description="Removes events older than each project's retention.")
def expire_events(context: dg.OpExecutionContext) -> None:
    settings, dry_run = get_settings(), context.op_config["dry_run"]
    cutoffs = retention_cutoffs(settings, _as_of(context.op_config))
    client = get_client(settings)
    try:
        plans = events.plan_expiry(client, cutoffs)
        if not dry_run:
            for plan in plans:
                events.apply_plan(client, plan, cutoffs)
    finally:
        client.close()
    per_project: dict[str, dict[str, int]] = {}
    for plan in plans:
        for project, rows in plan.expired.items():
            per_project.setdefault(project, {})[plan.table] = rows
    context.add_output_metadata(
        {
            "dry_run": dry_run,
            "as_of": cutoffs.as_of.isoformat(),
            "rows_removed" if not dry_run else "rows_to_remove": sum(plan.rows for plan in plans),
            "per_project": dg.MetadataValue.json(per_project),
            "removed": _table(
                ("table", "project", "rows", "cutoff"),
                [(plan.table, p, n, cutoffs.of(p).isoformat()) for plan in plans for p, n in sorted(plan.expired.items())],
            ),
            "partitions_dropped" if not dry_run else "partitions_to_drop": dg.MetadataValue.json(
                {plan.table: plan.partitions_to_drop for plan in plans if plan.partitions_to_drop}
            ),
        }
    )


@dg.op(config_schema=STEP_CONFIG, ins={"after": dg.In(dg.Nothing)}, description="Removes failed builds' tables, expired exports and old salts.")
def remove_leftovers(context: dg.OpExecutionContext) -> None:
    settings, dry_run = get_settings(), context.op_config["dry_run"]
    now = _as_of(context.op_config)
    client = get_client(settings)
    try:
        tables = leftovers.stale_dbt_tables(client, now)
        exports = leftovers.expired_exports(settings, now)
        salts = leftovers.old_salts(settings, now)
        folders = leftovers.abandoned_export_folders(settings, now)
        if not dry_run:
            leftovers.remove_tables(client, tables)
            leftovers.remove_exports(settings, exports)
            leftovers.remove_paths(salts + folders)
    finally:
        client.close()
    context.add_output_metadata(
        {
            "dry_run": dry_run,
            "tables": dg.MetadataValue.json(tables),
            "expired_exports": dg.MetadataValue.json([{"request": e.request_id, "project": e.project_id, "path": e.path} for e in exports]),
            "salt_files": dg.MetadataValue.json([path.name for path in salts]),
            "export_work_folders": dg.MetadataValue.json([path.name for path in folders]),
        }
    )


@dg.job(
    config=dg.ConfigMapping(
        config_schema=STEP_CONFIG,
        config_fn=lambda config: {"ops": {step: {"config": dict(config)} for step in STEPS}},
    ),
    op_retry_policy=RETENTION_RETRY_POLICY,
    tags={"feelback/maintenance": "retention"},
    description="Erasure requests, expired raw events, and leftovers of failed runs. Config: dry_run, as_of.",
)
def retention_job():
    rebuilt = rebuild_after_erasures(carry_out_erasures())
    remove_leftovers(after=expire_events(after=rebuilt))


retention_schedule = dg.ScheduleDefinition(
    name="retention_schedule",
    job=retention_job,
    cron_schedule="30 3 * * 0",  # Sundays 03:30 UTC, after the daily backup
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Weekly retention cleanup.",
)
