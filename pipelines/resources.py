"""Resources of the code location, all configured from ``feelback.settings`` (FEELBACK_* variables)."""

from __future__ import annotations

import os

import dagster as dg
from clickhouse_connect.driver.client import Client
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from feelback.settings import get_settings
from pipelines.dbt_env import dbt_env
from warehouse.client import get_client


class ClickHouseResource(dg.ConfigurableResource):
    """clickhouse-connect clients on FEELBACK_CLICKHOUSE_URL (or ``url`` when given)."""

    url: str = ""

    def get_client(self) -> Client:
        settings = get_settings()
        if self.url:
            settings = settings.model_copy(update={"clickhouse_url": self.url})
        return get_client(settings)


def export_dbt_env() -> None:
    """Point dbt's profile at FEELBACK_CLICKHOUSE_URL and its run artifacts (one folder per
    invocation) under FEELBACK_HOME; the dbt subprocess inherits this environment."""
    settings = get_settings()
    os.environ.update(dbt_env(settings.clickhouse))
    os.environ["DBT_TARGET_PATH"] = str((settings.home / "dbt" / "runs").resolve())


def resources() -> dict[str, object]:
    from pipelines.defs.dbt.project import DBT_EXECUTABLE, dbt_project  # the assets import this module

    return {
        "clickhouse": ClickHouseResource(),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
        "dlt": DagsterDltResource(),
    }
