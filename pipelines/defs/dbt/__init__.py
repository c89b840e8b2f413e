"""The dbt project (dbt_project/) as Dagster assets, with its tests as asset checks."""

from pipelines.defs.dbt.assets import warehouse_models

assets = [warehouse_models]
asset_checks: list = []
jobs: list = []
schedules: list = []
sensors: list = []

__all__ = ["warehouse_models", "assets", "asset_checks", "jobs", "schedules", "sensors"]
