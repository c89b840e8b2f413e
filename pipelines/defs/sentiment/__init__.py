"""VADER sentiment of message texts, stored in ClickHouse for fct_signals."""

from pipelines.defs.sentiment.assets import message_sentiment

assets = [message_sentiment]
asset_checks: list = []
jobs: list = []
schedules: list = []
sensors: list = []

__all__ = ["message_sentiment", "assets", "asset_checks", "jobs", "schedules", "sensors"]
