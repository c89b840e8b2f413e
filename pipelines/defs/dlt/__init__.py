"""Control-plane tables replicated by dlt into ClickHouse ``raw_app`` (projects, content sets)."""

from pipelines.defs.dlt.assets import control_plane_tables

assets = [control_plane_tables]
asset_checks: list = []
jobs: list = []
schedules: list = []
sensors: list = []

__all__ = ["control_plane_tables", "assets", "asset_checks", "jobs", "schedules", "sensors"]
