"""Recap e-mails as Dagster assets partitioned by week and month, downstream of the marts they quote.

Materializing a partition sends that period's recap to every recipient still owed it; the delivery
ledger makes a retried or repeated run send nothing twice. ``resend: true`` sends the period again to
everyone on purpose. The hourly schedules ask for a partition only when some project's recap is due
(Monday / the 1st at 07:00 in the project's time zone) and still owed; their run keys make a
schedule that fires twice in the same hour start one run.
"""


import datetime as dt

import dagster as dg

from feelback.control_plane.models import RecapFrequency
from feelback.recaps.periods import Period
from feelback.settings import get_settings
from pipelines.defs.recaps.deliver import SendOutcome, due_deliveries, send_recaps
from warehouse.client import get_client

MART_ASSETS = [dg.AssetKey(name) for name in ("agg_content_set_period", "agg_content_period", "agg_content_set_daily", "fct_signals")]
PARTITIONS_START = "2024-01-01"  # a Monday

# end_offset=1: the running period exists as a partition, because in time zones ahead of UTC a
# period ends (and its recap is due) before the UTC period does.
weekly_partitions = dg.WeeklyPartitionsDefinition(start_date=PARTITIONS_START, day_offset=1, end_offset=1)
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=PARTITIONS_START, end_offset=1)

# A failing recipient makes the step fail after everyone else got their mail; the retry sends only
# to recipients still owed (up to ledger.MAX_ATTEMPTS attempts each, across runs).
RECAP_RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=60, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


class RecapConfig(dg.Config):
    resend: bool = False
    """Send the period again to every current subscriber, even those who already got it."""
    projects: list[str] = []
    """Only these project ids; empty: every project with subscriptions whose period is due."""


def _metadata(outcome: SendOutcome, period: Period) -> dict:
    return {
        "period": f"{period.kind.value} {period.key}",
        "sent": len(outcome.sent),
        "skipped": dg.MetadataValue.json(dict(outcome.skipped)),
        "failed_retryable": len(outcome.retryable),
        "failed_permanently": len(outcome.permanent),
        "failures": dg.MetadataValue.json([{"project": p, "recipient": r, "reason": why} for p, r, why in outcome.retryable + outcome.permanent]),
        "not_due_yet": dg.MetadataValue.json(outcome.not_due),
        "per_project": dg.MetadataValue.json({p: dict(c) for p, c in outcome.per_project.items()}),
    }


def _materialize(context: dg.AssetExecutionContext, kind: RecapFrequency, config: RecapConfig) -> dg.MaterializeResult:
    settings = get_settings()
    period = Period.from_key(kind, context.partition_key)
    client = get_client(settings)
    try:
        outcome = send_recaps(settings, client, period, config.projects or None, resend=config.resend)
    finally:
        client.close()
    metadata = _metadata(outcome, period)
    context.log.info(f"{period.kind.value} recap {period.key}: sent {len(outcome.sent)}, skipped {dict(outcome.skipped)}")
    if outcome.retryable:
        raise dg.Failure(
            description=f"{len(outcome.retryable)} recipient(s) could not be reached; the others got their recap",
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    partitions_def=weekly_partitions,
    deps=MART_ASSETS,
    group_name="recaps",
    kinds={"email"},
    description="Weekly recap e-mails (previous ISO week in each project's time zone), once per recipient.",
)
def weekly_recap_emails(context: dg.AssetExecutionContext, config: RecapConfig) -> dg.MaterializeResult:
    return _materialize(context, RecapFrequency.weekly, config)


@dg.asset(
    partitions_def=monthly_partitions,
    deps=MART_ASSETS,
    group_name="recaps",
    kinds={"email"},
    description="Monthly recap e-mails (previous calendar month in each project's time zone), once per recipient.",
)
def monthly_recap_emails(context: dg.AssetExecutionContext, config: RecapConfig) -> dg.MaterializeResult:
    return _materialize(context, RecapFrequency.monthly, config)


weekly_recap_job = dg.define_asset_job(
    "weekly_recap_job", selection=[weekly_recap_emails], op_retry_policy=RECAP_RETRY_POLICY
)
monthly_recap_job = dg.define_asset_job(
    "monthly_recap_job", selection=[monthly_recap_emails], op_retry_policy=RECAP_RETRY_POLICY
)


def recap_run_requests(kind: RecapFrequency, asset_name: str, now: dt.datetime) -> list[dg.RunRequest]:
    requests = []
    for key, projects in sorted(due_deliveries(get_settings(), kind, now).items()):
        requests.append(
            dg.RunRequest(
                run_key=f"{kind.value}-{key}-{now:%Y%m%dT%H}",
                partition_key=key,
                run_config={"ops": {asset_name: {"config": {"projects": sorted(projects), "resend": False}}}},
                tags={"feelback/recap": kind.value},
            )
        )
    return requests


def _schedule(kind: RecapFrequency, job, asset_name: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{kind.value}_recap_schedule",
        job=job,
        cron_schedule="15 * * * *",  # hourly: Monday 07:00 comes at a different UTC hour in each time zone
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Asks for {kind.value} recaps when a project's period is due and someone is still owed it.",
    )
    def recap_schedule(context: dg.ScheduleEvaluationContext):
        requests = recap_run_requests(kind, asset_name, context.scheduled_execution_time.astimezone(dt.UTC))
        return requests or dg.SkipReason(f"no {kind.value} recap is due and owed")

    return recap_schedule


weekly_recap_schedule = _schedule(RecapFrequency.weekly, weekly_recap_job, "weekly_recap_emails")
monthly_recap_schedule = _schedule(RecapFrequency.monthly, monthly_recap_job, "monthly_recap_emails")
