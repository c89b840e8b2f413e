"""``raw.feedback_events``, written by the ingest API, as an observed source asset."""

from pipelines.defs.raw.assets import RAW_EVENTS, feedback_events

assets = [feedback_events]
asset_checks: list = []
jobs: list = []
schedules: list = []
sensors: list = []

__all__ = ["RAW_EVENTS", "feedback_events", "assets", "asset_checks", "jobs", "schedules", "sensors"]
