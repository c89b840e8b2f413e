"""Every dbt model and seed as a Dagster asset, its tests as asset checks; one ``dbt build`` per run.

The daily partitions (UTC days of ``received_at``) reach dbt as ``min_day``/``max_day``; a
backfill of a day range is one run over the whole range (the models recompute what it touches).
"""

import json
from datetime import timedelta

import dagster as dg
from dagster_dbt import DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.defs.dbt.project import dbt_project, prepare_manifest
from pipelines.defs.dbt.translator import FeelbackDbtTranslator
from pipelines.partitions import daily_partitions
from pipelines.resources import export_dbt_env

translator = FeelbackDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def batch_vars(window: dg.TimeWindow) -> dict[str, str]:
    """dbt vars of a partition time window: its first and last UTC day, inclusive."""
    return {
        "min_day": window.start.date().isoformat(),
        "max_day": (window.end - timedelta(days=1)).date().isoformat(),
    }


@dbt_assets(
    manifest=prepare_manifest(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    # builds delete and re-insert the keys they touch: two at once would interleave (limit it to 1)
    pool="warehouse_build",
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    export_dbt_env()
    variables = json.dumps(batch_vars(context.partition_time_window))
    yield from dbt.cli(["build", "--vars", variables], context=context).stream()
