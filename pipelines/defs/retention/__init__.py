"""Retention: events past each project's retention, erasure requests, and what failed runs left.

Modules: ``policy`` (each project's cutoff), ``events`` (partition drops and deletes of expired
events), ``erasure`` (a visitor's or a content's rows), ``rebuild`` (aggregates after an erasure),
``leftovers`` (stale dbt tables, expired exports, old salts), ``assets`` (the Dagster job and schedule).
"""

from pipelines.defs.retention.assets import retention_job, retention_schedule

assets: list = []
jobs = [retention_job]
schedules = [retention_schedule]
sensors: list = []
