"""Recap e-mails: weekly and monthly summaries of a project's signals, sent once per recipient.

Modules, in the order a recap is made: ``periods`` (which week or month, in the project's time zone),
``queries`` (its numbers from the dbt marts) into ``report`` (plain data), ``chart`` (the PNG),
``render`` (HTML + text e-mail), ``ledger`` (the once-per-recipient claim), ``feelback.mail`` (SMTP or outbox),
``deliver`` (all of it for one period), ``assets`` (Dagster assets, jobs, schedules).
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
