"""dbt-clickhouse and dlt, the heaviest clients of the warehouse, against the local server."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dlt
import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_dbt_build_twice_with_table_view_and_incremental(clickhouse_server, ch, tmp_path):
    project = tmp_path / "dbt_smoke"
    shutil.copytree(FIXTURES / "dbt_smoke", project)
    env = {
        **os.environ,
        "SMOKE_CH_HOST": clickhouse_server.host,
        "SMOKE_CH_PORT": str(clickhouse_server.http_port),
        "SMOKE_CH_PASSWORD": clickhouse_server.password,
    }
    dbt = Path(sys.executable).parent / "dbt"
    for _ in range(2):
        result = subprocess.run(
            [dbt, "build", "--project-dir", project, "--profiles-dir", project], env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout[-4000:]
        assert "Completed successfully" in result.stdout
    assert ch.query("SELECT count(), sum(n) FROM dbt_smoke.smoke_numbers").result_rows == [(100, 4950)]
    assert ch.query("SELECT count() FROM dbt_smoke.smoke_even").result_rows == [(50,)]
    assert ch.query("SELECT count(), uniqExact(n) FROM dbt_smoke.smoke_incremental").result_rows == [(100, 100)]
    engines = dict(ch.query("SELECT name, engine FROM system.tables WHERE database = 'dbt_smoke'").result_rows)
    assert engines["smoke_even"] == "View" and engines["smoke_incremental"] == "MergeTree"


@pytest.mark.parametrize("file_format", ["jsonl", "parquet"])
def test_dlt_merge_load_twice(clickhouse_server, ch, tmp_path, file_format):
    @dlt.resource(name="people", primary_key="id", write_disposition="merge")
    def people(version: int):
        for person_id in range(1, 6):
            yield {"id": person_id, "name": f"person {person_id} v{version}", "score": person_id * version}

    credentials = {
        "host": clickhouse_server.host,
        "port": clickhouse_server.native_port,
        "http_port": clickhouse_server.http_port,
        "username": "default",
        "password": clickhouse_server.password,
        "database": "default",
        "secure": 0,
    }
    pipeline = dlt.pipeline(
        pipeline_name="smoke_people",
        pipelines_dir=str(tmp_path / "dlt"),
        destination=dlt.destinations.clickhouse(credentials=credentials),
        dataset_name=f"dlt_smoke_{file_format}",
    )
    for version in (1, 2):
        info = pipeline.run(people(version), loader_file_format=file_format)
        assert not info.has_failed_jobs
    rows = ch.query(
        f"SELECT id, name, score FROM default.dlt_smoke_{file_format}___people ORDER BY id"
    ).result_rows
    assert rows == [(i, f"person {i} v2", i * 2) for i in range(1, 6)]
