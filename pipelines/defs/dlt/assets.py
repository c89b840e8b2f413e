"""The dlt replication as Dagster assets ``raw_app/projects`` and ``raw_app/content_sets``."""

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from feelback.settings import get_settings
from pipelines.defs.dlt.control_plane import DATABASE, control_plane_pipeline, control_plane_source
from pipelines.resources import ClickHouseResource


class ControlPlaneTranslator(DagsterDltTranslator):
    """Keys name the ClickHouse table (``raw_app/<table>``), as dbt's sources do."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        return super().get_asset_spec(data).replace_attributes(
            key=dg.AssetKey([DATABASE, data.resource.name]),
            deps=[],
            group_name="raw_app",
        )


@dlt_assets(
    # Built again at run time from the settings of that moment; these only describe the assets.
    dlt_source=control_plane_source("sqlite:///:memory:"),
    dlt_pipeline=control_plane_pipeline(get_settings()),
    name="control_plane_replication",
    dagster_dlt_translator=ControlPlaneTranslator(),
)
def control_plane_tables(context: dg.AssetExecutionContext, dlt: DagsterDltResource, clickhouse: ClickHouseResource):
    settings = get_settings()
    client = clickhouse.get_client()
    try:
        # dlt makes tables, not databases; the database is the dataset here
        client.command(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    finally:
        client.close()
    yield from dlt.run(
        context=context,
        dlt_source=control_plane_source(settings.control_db_url),
        dlt_pipeline=control_plane_pipeline(settings),
    )
