"""``feelback user ...``: accounts straight in the control-plane DB (no API server needed).

Contract: ``user_app`` (a typer app), added by ``feelback/cli.py`` as ``app.add_typer(user_app, name="user")``.
"""

from __future__ import annotations

import typer

from feelback.cli_project import _fail, _settings

user_app = typer.Typer(help="Create and list user accounts.", no_args_is_help=True, add_completion=False)


@user_app.command("create")
def create(
    email: str = typer.Argument(..., help="The person's e-mail address."),
    name: str = typer.Option("", "--name", help="Their display name."),
    password: bool = typer.Option(False, "--password", help="Ask for a password (otherwise they set one with a reset link)."),
) -> None:
    """Create an account (address taken as confirmed); prints its id."""
    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.users import AccountExists, create_user

    settings = _settings()
    plain = typer.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    try:
        upgrade_control_plane(settings)
        with session_scope(settings) as session:
            user = create_user(session, email, password=plain, name=name, verified=True)
            user_id, address = user.id, user.email
    except AccountExists as exc:
        _fail(str(exc), 1)
    except ValueError as exc:
        _fail(f"{email!r}: {exc}", 2)
    typer.echo(f"user_id: {user_id}")
    typer.echo(f"email: {address}")
    if plain is None:
        typer.echo("No password yet: they sign in with a mailed link or choose one with 'forgot password'.", err=True)


@user_app.command("list")
def list_users() -> None:
    """List accounts: id, e-mail, confirmed or not, and their organizations with roles."""
    from sqlalchemy import select

    from feelback.control_plane.account_models import User
    from feelback.control_plane.db import session_scope, upgrade_control_plane

    settings = _settings()
    upgrade_control_plane(settings)
    with session_scope(settings) as session:
        for user in session.scalars(select(User).order_by(User.email)):
            orgs = ",".join(f"{m.organization.name}:{m.role.value}" for m in user.memberships) or "-"
            typer.echo(f"{user.id}\t{user.email}\t{'verified' if user.verified_at else 'unverified'}\t{orgs}")
