-- raw_app: control-plane tables replicated by dlt (its ClickHouse destination expects the database
-- to exist). analytics: dbt's marts and the sentiment scores written by Dagster.
CREATE DATABASE IF NOT EXISTS raw_app;

CREATE DATABASE IF NOT EXISTS analytics;
