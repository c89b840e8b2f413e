"""The code location: every package of ``pipelines.defs`` and the resources they share."""

import dagster as dg

from pipelines.defs import backups, dbt, dlt, exports, raw, recaps, retention, schedules, sentiment
from pipelines.resources import resources

PACKAGES = [raw, dlt, sentiment, dbt, exports, recaps, retention, backups]


def _gather(name: str) -> list:
    return [item for package in PACKAGES for item in getattr(package, name, [])]


defs = dg.Definitions(
    assets=_gather("assets"),
    asset_checks=_gather("asset_checks"),
    jobs=[*_gather("jobs"), *schedules.jobs],
    schedules=[*_gather("schedules"), *schedules.schedules],
    sensors=_gather("sensors"),
    resources=resources(),
)
