"""Build a Superset asset bundle (Superset's own import format) from the files in dashboards/.

The questions stay in ``dashboards/*.sql``; ``datasets/``, ``charts/`` and ``dashboards/`` under this
folder say how Superset shows them, in a short form with fixed UUIDs that this module expands into
the YAML files ``ImportAssetsCommand`` reads. Pure Python and PyYAML only: it runs in Superset's
virtualenv (``provision.py``) and in the project's (tests).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE.parent  # dashboards/*.sql
VERSION = "1.0.0"
DATABASE_UUID = "5b1f3f0e-7c55-4f0a-9a47-2f0c6e1d0b01"
DATABASE_FILE = "databases/feelback_clickhouse.yaml"
ROW_LIMIT = 10000
_PARAMETER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([A-Za-z0-9_()]+)\s*\}")


def read_specs(kind: str) -> dict[str, dict]:
    """The short specs of one kind (``datasets``, ``charts``, ``dashboards``), by file stem."""
    return {path.stem: yaml.safe_load(path.read_text()) for path in sorted((HERE / kind).glob("*.yaml"))}


def templated_sql(sql: str, defaults: dict) -> str:
    """The question's SQL with each ClickHouse parameter bound from the dashboard filter of that name.

    ``{project_id:String}`` becomes a Jinja call that quotes the filter's value for ClickHouse (see
    ``clickhouse_literal`` in superset_config.py) and removes the filter from the outer query.
    """
    if "{{" in sql or "{%" in sql:
        raise ValueError("a question's SQL must not contain Jinja; take inputs as ClickHouse parameters")

    def bind(match: re.Match) -> str:
        name, clickhouse_type = match.group(1), match.group(2)
        default = json.dumps(defaults.get(name))
        return (
            f"{{{{ clickhouse_literal(filter_values('{name}', remove_filter=True), '{clickhouse_type}', "
            f"{'none' if default == 'null' else default}) }}}}"
        )

    return _PARAMETER.sub(bind, sql.strip().rstrip(";"))


def question_sql(dataset: dict) -> str:
    return (QUESTIONS / dataset["sql"]).read_text()


def _dataset(name: str, spec: dict) -> dict:
    columns = []
    for column, column_type in spec["columns"].items():
        columns.append(
            {
                "column_name": column,
                "type": column_type,
                "is_dttm": column == spec.get("time_column") or column_type.startswith(("Date", "DateTime")),
                "groupby": True,
                "filterable": True,
                "is_active": True,
            }
        )
    return {
        "table_name": spec.get("title", name),
        "main_dttm_col": spec.get("time_column"),
        "description": spec.get("description"),
        "schema": None,
        "sql": templated_sql(question_sql(spec), spec.get("defaults", {})),
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "uuid": spec["uuid"],
        "metrics": [],
        "columns": columns,
        "version": VERSION,
        "database_uuid": DATABASE_UUID,
    }


def metric(spec: dict) -> dict:
    """A simple aggregate metric (``{column: signals, aggregate: SUM}``) in Superset's adhoc form."""
    label = spec.get("label") or f"{spec['aggregate']}({spec['column']})"
    return {
        "expressionType": "SIMPLE",
        "column": {"column_name": spec["column"]},
        "aggregate": spec["aggregate"],
        "label": label,
        "optionName": f"metric_{re.sub(r'[^a-z0-9]+', '_', label.lower())}",
    }


def chart_query(spec: dict) -> dict:
    """The chart's one query as the chart-data API takes it: raw rows for tables, group-by otherwise."""
    if spec["viz_type"] == "table":
        columns, metrics, orderby = list(spec["columns"]), [], []
    else:
        columns = [spec["x"], *spec.get("groupby", [])]
        metrics = [metric(m) for m in spec["metrics"]]
        orderby = [[metrics[0], False]]
    return {
        "columns": columns,
        "metrics": metrics,
        "orderby": orderby,
        "filters": [],
        "extras": {"having": "", "where": ""},
        "row_limit": ROW_LIMIT,
        "order_desc": True,
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
    }


def _chart_params(spec: dict) -> dict:
    viz = spec["viz_type"]
    params: dict = {"viz_type": viz, "row_limit": ROW_LIMIT, "adhoc_filters": []}
    if viz == "table":
        params |= {"query_mode": "raw", "all_columns": list(spec["columns"]), "order_by_cols": [],
                   "table_timestamp_format": "smart_date", "show_cell_bars": False}  # fmt: skip
    else:
        params |= {
            "x_axis": spec["x"],
            "groupby": spec.get("groupby", []),
            "metrics": [metric(m) for m in spec["metrics"]],
            "time_grain_sqla": None,
            "x_axis_sort_asc": True,
            "show_legend": True,
            "rich_tooltip": True,
            "truncate_metric": True,
            "y_axis_format": spec.get("y_axis_format", "SMART_NUMBER"),
        }
        if viz == "echarts_timeseries_bar":
            params |= {"stack": spec.get("stack"), "orientation": "vertical"}
    params |= spec.get("params", {})
    return params


def _chart(name: str, spec: dict, datasets: dict[str, dict]) -> dict:
    params = _chart_params(spec)
    query_context = {
        "datasource": {"id": 0, "type": "table"},  # set to the dataset's id at import
        "force": False,
        "queries": [chart_query(spec)],
        "form_data": params,
        "result_format": "json",
        "result_type": "full",
    }
    return {
        "slice_name": spec["title"],
        "description": spec.get("description"),
        "viz_type": spec["viz_type"],
        "params": params,
        "query_context": json.dumps(query_context),
        "cache_timeout": None,
        "uuid": spec["uuid"],
        "version": VERSION,
        "dataset_uuid": datasets[spec["dataset"]]["uuid"],
    }


def _position(spec: dict, charts: dict[str, dict]) -> tuple[dict, dict[str, int]]:
    """Superset's layout tree: one row per line of ``rows``, charts sharing the 12-column grid."""
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": spec["title"]}},
    }
    chart_ids: dict[str, int] = {}
    for row_number, row in enumerate(spec["rows"], start=1):
        row_id = f"ROW-{row_number}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {"type": "ROW", "id": row_id, "children": [], "parents": ["ROOT_ID", "GRID_ID"],
                            "meta": {"background": "BACKGROUND_TRANSPARENT"}}  # fmt: skip
        width = 12 // len(row)
        for chart_name in row:
            chart_ids[chart_name] = len(chart_ids) + 1
            chart_id = f"CHART-{chart_name}"
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "type": "CHART",
                "id": chart_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {"chartId": chart_ids[chart_name], "uuid": charts[chart_name]["uuid"], "width": width,
                         "height": charts[chart_name].get("height", 50), "sliceName": charts[chart_name]["title"]},  # fmt: skip
            }
    return position, chart_ids


def filter_applies(column: str | None, dataset: dict) -> bool:
    """Whether a dashboard filter means anything to a dataset: a column or parameter of the filter's column,
    or (the time range filter, ``column`` None) a time column."""
    if column is None:
        return bool(dataset.get("time_column"))
    return column in dataset["columns"] or f"{{{column}:" in question_sql(dataset).replace(" ", "")


def _native_filter(
    dashboard: str, kind: str, spec: dict, datasets: dict[str, dict], parents: list[str], excluded: list[int]
) -> dict:
    base = {
        "id": f"NATIVE_FILTER-{dashboard}-{kind}",
        "type": "NATIVE_FILTER",
        "description": "",
        "cascadeParentIds": parents,
        "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded},
        "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
    }
    if kind == "time_range":
        default = spec.get("default", "No filter")
        return base | {
            "name": "Time range",
            "filterType": "filter_time",
            "targets": [{}],
            "controlValues": {"enableEmptyFilter": False},
            "defaultDataMask": {"extraFormData": {"time_range": default}, "filterState": {"value": default}},
        }
    return base | {
        "name": spec["title"],
        "filterType": "filter_select",
        # charts wait for the first value instead of querying once with none (an empty dashboard on open)
        "requiredFirst": spec.get("required", False),
        "targets": [{"column": {"name": spec["column"]}, "datasetUuid": datasets[spec["dataset"]]["uuid"]}],
        "controlValues": {
            "enableEmptyFilter": spec.get("required", False),
            "defaultToFirstItem": spec.get("required", False),
            "multiSelect": spec.get("multiple", False),
            "searchAllOptions": False,
            "inverseSelection": False,
        },
    }


def _dashboard(name: str, spec: dict, charts: dict[str, dict], datasets: dict[str, dict]) -> dict:
    position, chart_ids = _position(spec, charts)
    filters, parents = [], []
    for kind, filter_spec in (spec.get("filters") or {}).items():
        column = (filter_spec or {}).get("column")
        excluded = [chart_ids[c] for c in chart_ids if not filter_applies(column, datasets[charts[c]["dataset"]])]
        native = _native_filter(
            name, kind, filter_spec or {}, datasets, list(parents) if kind == "content_set" else [], excluded
        )
        filters.append(native)
        if kind == "project":
            parents.append(native["id"])
    return {
        "dashboard_title": spec["title"],
        "description": spec.get("description"),
        "css": "",
        "slug": spec.get("slug", name.replace("_", "-")),
        "uuid": spec["uuid"],
        "position": position,
        "metadata": {
            "native_filter_configuration": filters,
            "color_scheme": "supersetColors",
            "cross_filters_enabled": False,
            "refresh_frequency": 0,
            "expanded_slices": {},
            "timed_refresh_immune_slices": [],
            "default_filters": "{}",
        },
        "published": True,
        "version": VERSION,
    }


def database_config(sqlalchemy_uri: str) -> dict:
    """The one database, ClickHouse as the analysts' read-only user (password passed apart, masked here)."""
    return {
        "database_name": "Feelback ClickHouse",
        "sqlalchemy_uri": sqlalchemy_uri,
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "extra": {"allows_virtual_table_explore": True, "metadata_params": {}, "engine_params": {}},
        "uuid": DATABASE_UUID,
        "version": VERSION,
    }


def bundle(sqlalchemy_uri: str) -> dict[str, str]:
    """Every file of the import, by path inside the bundle, as YAML text."""
    datasets, charts, dashboards = read_specs("datasets"), read_specs("charts"), read_specs("dashboards")
    files: dict[str, dict] = {
        "metadata.yaml": {"version": VERSION, "type": "assets", "timestamp": "2026-01-01T00:00:00+00:00"},
        DATABASE_FILE: database_config(sqlalchemy_uri),
    }
    for name, spec in datasets.items():
        files[f"datasets/feelback/{name}.yaml"] = _dataset(name, spec)
    for name, spec in charts.items():
        files[f"charts/{name}.yaml"] = _chart(name, spec, datasets)
    for name, spec in dashboards.items():
        files[f"dashboards/{name}.yaml"] = _dashboard(name, spec, charts, datasets)
    return {path: yaml.safe_dump(content, sort_keys=False) for path, content in files.items()}
