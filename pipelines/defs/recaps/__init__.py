"""Recap e-mails as Dagster assets: weekly and monthly summaries of a project's signals, sent once per recipient.

What a recap says and looks like is core (``feelback.recaps``: periods, queries, report, chart, render,
message), shared with the API's preview. Here: ``ledger`` (the once-per-recipient claim),
``feelback.mail`` (SMTP or outbox), ``deliver`` (all of it for one period), ``assets`` (Dagster assets,
jobs, schedules).
"""

from pipelines.defs.recaps.assets import (
    monthly_recap_emails,
    monthly_recap_job,
    monthly_recap_schedule,
    weekly_recap_emails,
    weekly_recap_job,
    weekly_recap_schedule,
)

assets = [weekly_recap_emails, monthly_recap_emails]
jobs = [weekly_recap_job, monthly_recap_job]
schedules = [weekly_recap_schedule, monthly_recap_schedule]
sensors: list = []
