"""``feelback project create`` / ``list`` against SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from feelback.cli_project import project_app
from ingest_api.app import create_app


def invoke(settings, *arguments):
    return CliRunner().invoke(project_app, list(arguments), env={"FEELBACK_DATABASE_URL": settings.database_url})


def test_create_prints_id_and_working_keys(control_settings):
    result = invoke(control_settings, "create", "Acme Docs", "--origin", "https://acme.com", "--origin", "https://*.acme.dev", "--timezone", "Asia/Tokyo")
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert set(lines) == {"project_id", "public_key", "secret_key"}
    project_id = lines["project_id"]
    assert project_id.startswith("acme-docs-")

    with TestClient(create_app(control_settings)) as api:
        project = api.get(f"/v1/projects/{project_id}", headers={"Authorization": f"Bearer {lines['secret_key']}"})
        assert project.status_code == 200
        assert (project.json()["timezone"], project.json()["allowed_origins"]) == ("Asia/Tokyo", ["https://acme.com", "https://*.acme.dev"])

    listed = invoke(control_settings, "list")
    assert listed.exit_code == 0 and listed.stdout.startswith(f"{project_id}\tAcme Docs\tAsia/Tokyo\t730d\t")


def test_bad_input_is_one_line_naming_the_value_and_exit_2(control_settings):
    for arguments, message in (
        (("create", "X", "--timezone", "Mars/Base"), "error: unknown time zone 'Mars/Base'; use an IANA name like Europe/Paris or UTC"),
        (("create", "X", "--origin", "acme.com"), "error: origin 'acme.com' must look like https://example.com"),
        (("create", "X", "--retention-days", "0"), "error: retention days 0 must be a whole number of at least 1"),
    ):
        result = invoke(control_settings, *arguments)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
        assert result.stdout == ""
    assert invoke(control_settings, "list").stdout == ""
