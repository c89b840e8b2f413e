"""Every chart shows its question: Superset's chart-data API returns what the .sql file returns when run
directly against the marts built by the test pipeline (grouped and aggregated as the chart says)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict

import pytest

from dashboards.superset.assets import chart_query, question_sql, read_specs

CHARTS = read_specs("charts")
DATASETS = read_specs("datasets")


def _value(value):
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return round(value.timestamp() * 1000)
    if isinstance(value, dt.date):
        return round(dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC).timestamp() * 1000)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, (list, tuple)):
        return tuple(_value(item) for item in value)
    return value


def _rows(rows: list[dict], columns: list[str]) -> list[tuple]:
    return sorted((tuple(_value(row[column]) for column in columns) for row in rows), key=repr)


def _aggregate(rows: list[dict], keys: list[str], metrics: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[key] for key in keys)].append(row)
    out = []
    for key, members in groups.items():
        result = dict(zip(keys, key))
        for metric in metrics:
            values = [m[metric["column"]] for m in members if m[metric["column"]] is not None]
            label = metric["label"]
            if metric["aggregate"] == "SUM":
                result[label] = sum(values)
            elif metric["aggregate"] == "AVG":
                result[label] = sum(values) / len(values) if values else None
            elif metric["aggregate"] == "MAX":
                result[label] = max(values, default=None)
            else:
                raise AssertionError(f"the test does not know aggregate {metric['aggregate']}")
        out.append(result)
    return out


def expected_rows(ch, name: str, project_id: str | None) -> tuple[list[str], list[tuple]]:
    spec = CHARTS[name]
    dataset = DATASETS[spec["dataset"]]
    parameters = dict(dataset.get("defaults", {})) | ({"project_id": project_id} if project_id else {})
    result = ch.query(question_sql(dataset), parameters=parameters)
    rows = list(result.named_results())
    if spec["viz_type"] == "table":
        columns = list(spec["columns"])
        return columns, _rows(rows, columns)
    keys = [spec["x"], *spec.get("groupby", [])]
    columns = [*keys, *(metric["label"] for metric in spec["metrics"])]
    return columns, _rows(_aggregate(rows, keys, spec["metrics"]), columns)


def chart_rows(superset, api, name: str, project_id: str | None) -> tuple[list[str], list[tuple]]:
    chart_id, dataset_id = superset.metadata(
        "SELECT id, datasource_id FROM slices WHERE hex(uuid) = ?", CHARTS[name]["uuid"].replace("-", "").upper()
    )[0]
    query = chart_query(CHARTS[name])
    if project_id is not None:
        query["filters"] = [{"col": "project_id", "op": "IN", "val": [project_id]}]
    response = api.post(
        "/api/v1/chart/data",
        json={"datasource": {"id": dataset_id, "type": "table"}, "queries": [query], "form_data": {"slice_id": chart_id},
              "result_format": "json", "result_type": "full"},  # fmt: skip
    )
    assert response.status_code == 200, response.text
    result = response.json()["result"][0]
    assert not result.get("error"), result["error"]
    return result["colnames"], _rows(result["data"], result["colnames"])


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_returns_the_rows_of_its_question(superset, superset_api, ch, warehouse_build, live_project, spool_outage, name):
    dataset = DATASETS[CHARTS[name]["dataset"]]
    if "{project_id:" not in question_sql(dataset):
        project_id = None  # a question over all projects (business, build freshness)
    elif CHARTS[name]["dataset"] == "ingest_health":
        project_id = live_project
    else:
        project_id = warehouse_build.random_project_id  # its days are in every window, 7 days included
    columns, expected = expected_rows(ch, name, project_id)
    assert expected, f"{name}: the question has no rows for {project_id}, so the comparison would prove nothing"
    got_columns, got = chart_rows(superset, superset_api, name, project_id)
    assert got_columns == columns
    assert got == expected


def test_a_filter_value_cannot_break_out_of_its_quotes(superset, superset_api, warehouse_build):
    """The project filter is bound by Jinja into the question's SQL: quotes and backslashes stay data."""
    for hostile in ("x' OR 1=1 OR project_id = '", "x\\' OR 1=1 --", warehouse_build.random_project_id + "'"):
        columns, rows = chart_rows(superset, superset_api, "top_and_bottom_contents", hostile)
        assert rows == []
