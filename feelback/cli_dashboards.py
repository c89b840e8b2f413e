"""``feelback dashboards``: the analysts' dashboards in Apache Superset (feelback.dashboards)."""

from __future__ import annotations

import os

import typer

dashboards_app = typer.Typer(help="Analysts' dashboards in Apache Superset, provisioned from dashboards/.", no_args_is_help=True)


@dashboards_app.command("provision")
def provision_command() -> None:
    """Set up Superset's metadata and load every dataset, chart and dashboard of dashboards/ (idempotent)."""
    from feelback.cli import fail, progress, settings_or_exit
    from feelback.dashboards import SupersetMissing, provision

    settings = settings_or_exit()
    try:
        with progress.status("provisioning Superset"):
            lines = provision(settings)
    except (SupersetMissing, RuntimeError, ValueError) as exc:
        fail(str(exc))
    for line in lines:
        typer.echo(line)


@dashboards_app.command("serve")
def serve_command() -> None:
    """Provision, then run Superset's web server on 127.0.0.1 (``feelback up`` runs this)."""
    from feelback.cli import fail, settings_or_exit
    from feelback.dashboards import SupersetMissing, provision, server_command, superset_env

    settings = settings_or_exit()
    try:
        for line in provision(settings):
            typer.echo(line, err=True)
        command = server_command(settings)
    except (SupersetMissing, RuntimeError, ValueError) as exc:
        fail(str(exc))
    os.execve(command[0], command, superset_env(settings))
