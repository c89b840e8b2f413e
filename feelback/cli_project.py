"""``feelback project ...``: manage projects straight in the control-plane DB (no API server needed).

Contract: ``project_app`` (a typer app), added by ``feelback/cli.py`` as
``app.add_typer(project_app, name="project")``.
"""

from __future__ import annotations

import typer

from feelback.settings import SettingsError, load_settings

project_app = typer.Typer(help="Create, list and hand over projects.", no_args_is_help=True, add_completion=False)


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
    owner: str = typer.Option(
        "", "--owner", help="E-mail of the account that owns the project's new organization (made if missing); default: the operator account."
    ),
) -> None:
    """Create a project, in an organization of its own, and print its id and its public and secret keys (shown only this once)."""
    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.projects import create_project
    from feelback.control_plane.users import ensure_user

    settings = _settings()
    try:
        upgrade_control_plane(settings)
        with session_scope(settings) as session:
            owner_user = ensure_user(session, owner)[0] if owner else None
            created = create_project(session, name, origin, timezone, retention_days, owner=owner_user)
            project_id, organization_id = created.project.id, created.project.organization_id
            owner_email = owner_user.email if owner_user else "the operator account"
    except ValueError as exc:
        _fail(str(exc), 2)
    typer.echo(f"project_id: {project_id}")
    typer.echo(f"public_key: {created.public_key}")
    typer.echo(f"secret_key: {created.secret_key}")
    typer.echo(f"In organization {organization_id}, owned by {owner_email}.", err=True)
    typer.echo("Keep the secret key now: only its hash is stored.", err=True)


@project_app.command("owner")
def add_owner(
    project_id: str = typer.Argument(..., help="The project's id."),
    email: str = typer.Argument(..., help="E-mail of the account to make owner of the project's organization (made if missing)."),
) -> None:
    """Make an account owner of a project's organization, e.g. for projects made before accounts existed."""
    from feelback.control_plane.account_models import Membership, Role
    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.models import Project
    from feelback.control_plane.organizations import membership_of
    from feelback.control_plane.users import ensure_user

    settings = _settings()
    upgrade_control_plane(settings)
    try:
        with session_scope(settings) as session:
            project = session.get(Project, project_id)
            if project is None:
                _fail(f"no project {project_id!r} (see `feelback project list`)", 1)
            user, _ = ensure_user(session, email)
            membership = membership_of(session, project.organization_id, user.id)
            if membership is None:
                session.add(Membership(organization_id=project.organization_id, user_id=user.id, role=Role.owner))
            else:
                membership.role = Role.owner
            address, organization_id = user.email, project.organization_id
    except ValueError as exc:
        _fail(f"{email!r}: {exc}", 2)
    typer.echo(f"{address} owns organization {organization_id} (project {project_id})")


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
