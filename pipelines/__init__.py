"""Feelback's Dagster code location: ``pipelines.definitions.defs`` (loaded by workspace.yaml)."""
