"""How dbt nodes become Dagster assets: sources are the assets that write those tables."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject

from pipelines.defs.dlt.control_plane import DATABASE as RAW_APP, REPLICATED_COLUMNS
from pipelines.defs.raw.assets import RAW_EVENTS
from pipelines.defs.sentiment.assets import MESSAGE_SENTIMENT

SOURCE_ASSETS = {
    ("raw", "feedback_events"): RAW_EVENTS,
    **{(RAW_APP, table): dg.AssetKey([RAW_APP, table]) for table in REPLICATED_COLUMNS},
    ("enrichment", "message_sentiment"): MESSAGE_SENTIMENT,
}
GROUPS = {"staging": "dbt_staging", "intermediate": "dbt_staging", "marts": "marts"}


class FeelbackDbtTranslator(DagsterDbtTranslator):
    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            source = (props["source_name"], props["name"])
            if source not in SOURCE_ASSETS:
                raise ValueError(f"dbt source {'.'.join(source)} has no Dagster asset; add it to SOURCE_ASSETS")
            return spec.replace_attributes(key=SOURCE_ASSETS[source])
        folder = props["fqn"][1] if len(props["fqn"]) > 2 else "staging"
        return spec.replace_attributes(group_name=GROUPS.get(folder, "dbt_staging"))
