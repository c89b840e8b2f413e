"""``feelback project ...``: manage projects straight in the control-plane DB (no API server needed).

Contract: ``project_app`` (a typer app), added by ``feelback/cli.py`` as
``app.add_typer(project_app, name="project")``.
"""

from __future__ import annotations

import typer

from feelback.settings import SettingsError, load_settings

project_app = typer.Typer(help="Create and list projects.", no_args_is_help=True, add_completion=False)


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings():
    try:
        return load_settings()
    except SettingsError as exc:
        _fail(str(exc), 2)


@project_app.command("create")
def create(
    name: str = typer.Argument(..., help="The project's display name."),
    origin: list[str] = typer.Option([], "--origin", help="An allowed browser origin, e.g. https://example.com (repeatable)."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA time zone for day/week/month boundaries."),
    retention_days: int = typer.Option(730, "--retention-days", help="Days raw signals are kept (at least 1)."),
) -> None:
    """Create a project and print its id and its public and secret keys (shown only this once)."""
    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.projects import create_project

    settings = _settings()
    try:
        upgrade_control_plane(settings)
        with session_scope(settings) as session:
            created = create_project(session, name, origin, timezone, retention_days)
            project_id = created.project.id
    except ValueError as exc:
        _fail(str(exc), 2)
    typer.echo(f"project_id: {project_id}")
    typer.echo(f"public_key: {created.public_key}")
    typer.echo(f"secret_key: {created.secret_key}")
    typer.echo("Keep the secret key now: only its hash is stored.", err=True)


@project_app.command("list")
def list_projects() -> None:
    """List projects: id, name, time zone, retention and allowed origins."""
    from sqlalchemy import select

    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.models import Project

    settings = _settings()
    upgrade_control_plane(settings)
    with session_scope(settings) as session:
        for project in session.scalars(select(Project).order_by(Project.created_at, Project.id)):
            origins = ",".join(project.allowed_origins) or "*"
            typer.echo(f"{project.id}\t{project.name}\t{project.timezone}\t{project.retention_days}d\t{origins}")
