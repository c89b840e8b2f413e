"""The code location loads, and its asset graph runs from the raw events through every model."""

from __future__ import annotations

import csv

import dagster as dg

from feelback.domain import DEFAULT_REACTIONS
from pipelines.defs.dbt.project import DBT_PROJECT_DIR

RAW_EVENTS = dg.AssetKey(["raw", "feedback_events"])
MARTS = [
    "fct_signals", "agg_content_daily", "agg_content_daily_by_set", "agg_content_set_daily", "agg_content_rolling", "agg_content_set_rolling",
    "agg_content_period", "agg_content_set_period", "build_watermarks",
]


def _definitions() -> dg.Definitions:
    from pipelines.definitions import defs

    dg.Definitions.validate_loadable(defs)
    return defs


def test_definitions_load_with_the_daily_build_and_its_schedule():
    defs = _definitions()
    job = defs.resolve_job_def("warehouse_build")
    assert job.partitions_def is not None
    schedule = defs.resolve_schedule_def("warehouse_build_schedule")
    assert schedule.job_name == "warehouse_build"


def test_lineage_runs_from_raw_events_and_control_plane_through_every_model():
    graph = _definitions().resolve_asset_graph()
    for mart in MARTS:
        upstream = graph.get(dg.AssetKey(mart)).parent_keys
        ancestors = set()
        frontier = set(upstream)
        while frontier:
            key = frontier.pop()
            ancestors.add(key)
            frontier |= set(graph.get(key).parent_keys) - ancestors
        assert RAW_EVENTS in ancestors, mart
    fct_ancestors = set()
    frontier = {dg.AssetKey("fct_signals")}
    while frontier:
        key = frontier.pop()
        parents = set(graph.get(key).parent_keys)
        frontier |= parents - fct_ancestors
        fct_ancestors |= parents
    expected_sources = {
        RAW_EVENTS, dg.AssetKey(["raw_app", "projects"]), dg.AssetKey(["raw_app", "content_sets"]),
        dg.AssetKey(["enrichment", "message_sentiment"]),
    }
    assert expected_sources <= fct_ancestors
    # every dbt source is an asset some part of the code location produces or observes
    for key in expected_sources:
        assert graph.get(key).is_materializable or graph.get(key).is_observable, key


def test_dbt_tests_are_asset_checks_of_the_models():
    graph = _definitions().resolve_asset_graph()
    checked = {key.asset_key for key in graph.asset_check_keys}
    assert {dg.AssetKey("fct_signals"), dg.AssetKey("agg_content_rolling"), dg.AssetKey(["staging", "stg_feedback_events"])} <= checked


def test_default_reactions_seed_is_the_domain_default():
    with open(DBT_PROJECT_DIR / "seeds" / "default_reactions.csv", encoding="utf-8") as seed:
        rows = [(row["reaction"], row["emoji"], int(row["polarity"])) for row in csv.DictReader(seed)]
    assert rows == [(reaction.key, reaction.emoji, reaction.polarity) for reaction in DEFAULT_REACTIONS]
