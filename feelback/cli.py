"""The ``feelback`` command: the only place that knows every part of the stack."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from feelback.cli_dashboards import dashboards_app
from feelback.cli_project import project_app
from feelback.cli_user import user_app
from feelback.log import configure_logging
from feelback.settings import Settings, SettingsError, load_settings

progress = Console(stderr=True)
app = typer.Typer(help="Feelback: feedback signals on ClickHouse.", no_args_is_help=True, add_completion=False)
app.add_typer(project_app, name="project")
app.add_typer(user_app, name="user")
app.add_typer(dashboards_app, name="dashboards")


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level)
    return settings


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def warehouse(
    data_dir: Optional[Path] = typer.Option(None, help="chDB data directory (default: FEELBACK_WAREHOUSE_DATA_DIR or .feelback/clickhouse)."),
) -> None:
    """Run the local ClickHouse server (HTTP and native TCP on loopback) on chDB."""
    from warehouse.local_server.engine import DataDirectoryBusy
    from warehouse.local_server.server import LocalServer
    from warehouse.local_server.users import users_from_settings

    settings = settings_or_exit()
    target = settings.clickhouse
    if not target.is_loopback:
        fail(f"FEELBACK_CLICKHOUSE_URL={target.url} is not a loopback address; the local server only binds to 127.0.0.1")
    try:
        users = users_from_settings(settings, target.password)
        server = LocalServer(data_dir or settings.warehouse_dir, "127.0.0.1", target.http_port, target.native_port, target.password, users)
    except DataDirectoryBusy as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot listen on 127.0.0.1 ports {target.http_port}/{target.native_port}: {exc.strerror or exc}")
    typer.echo(
        f"ClickHouse {server.engine.version} (chDB) on {server.engine.data_dir}\n"
        f"  HTTP   http://127.0.0.1:{target.http_port}\n"
        f"  native tcp://127.0.0.1:{target.native_port}",
        err=True,
    )
    server.run_until_signal()


@app.command()
def migrate() -> None:
    """Apply the warehouse and control-plane migrations that are not applied yet."""
    settings = settings_or_exit()
    for line in apply_migrations(settings):
        typer.echo(line)


def apply_migrations(settings: Settings) -> list[str]:
    """Bring the warehouse and the control-plane DB to the newest schema; one line per step taken."""
    from warehouse.client import get_client
    from warehouse.migrations import MigrationError, migrate

    try:
        client = get_client(settings)
    except Exception as exc:  # clickhouse-connect raises several types for an unreachable server
        fail(f"cannot reach ClickHouse at {settings.clickhouse.http_url}: {exc}")
    try:
        applied = migrate(client)
    except MigrationError as exc:
        fail(str(exc))
    lines = [f"warehouse: applied {m.version:04d}_{m.name}" for m in applied] or ["warehouse: up to date"]
    from feelback.control_plane.db import upgrade_control_plane

    lines.append(f"control plane: {upgrade_control_plane(settings)}")
    return lines


@app.command()
def backup(full: bool = typer.Option(False, "--full", help="Take a full backup even if an incremental one would do.")) -> None:
    """Back up the ClickHouse databases and the control-plane DB now (the daily schedule does the same)."""
    from pipelines.defs.backups.backup import take_backup
    from pipelines.defs.backups.warehouse import BackupNotAllowed
    from warehouse.client import get_client

    settings = settings_or_exit()
    try:
        with progress.status("backing up ClickHouse and the control-plane DB"):
            manifest = take_backup(settings, get_client(settings), full=full or None)
    except BackupNotAllowed as exc:
        fail(str(exc))
    typer.echo(f"{manifest.kind} backup {manifest.id} written to {settings.backup_dir / manifest.id}")


@app.command()
def restore(backup_id: str = typer.Argument("latest", help="A backup id, 'latest', or a backup folder.")) -> None:
    """Replace the warehouse and the control-plane DB with a backup's state."""
    from pipelines.defs.backups.backup import restore_backup
    from pipelines.defs.backups.warehouse import BackupNotAllowed

    settings = settings_or_exit()
    try:
        with progress.status(f"restoring backup {backup_id}"):
            summary = restore_backup(settings, backup_id)
    except FileNotFoundError:
        fail(f"no backup {backup_id!r} under {settings.backup_dir}")
    except BackupNotAllowed as exc:
        fail(str(exc))
    for line in summary.lines():
        typer.echo(line)
    if not summary.ok:
        raise typer.Exit(1)


@app.command()
def up() -> None:
    """Run the embedded stack: the local ClickHouse server, the API, Dagster and Superset, until Ctrl-C."""
    from feelback.stack import run_stack

    settings = settings_or_exit()
    sys.exit(run_stack(settings, lambda settings: [*apply_migrations(settings), demo_line(settings), *demo_history_lines(settings)]))


@app.command()
def demo() -> None:
    """Create the demo project (one content set per widget type) if missing; the API serves it at /demo/."""
    settings = settings_or_exit()
    from feelback.control_plane.db import upgrade_control_plane

    upgrade_control_plane(settings)
    typer.echo(demo_line(settings))


def demo_line(settings: Settings) -> str:
    from feelback.demo import DEMO_PATH, ensure_demo

    project = ensure_demo(settings)
    return f"demo: project {project.project_id}, widgets at http://{settings.api_host}:{settings.api_port}{DEMO_PATH}"


def demo_history_lines(settings: Settings) -> list[str]:
    """A never-built warehouse gets the demo project's sample history before its first build."""
    from feelback.demo import read_demo
    from feelback.demo_history import DAYS, seed_demo_history
    from feelback.first_build import warehouse_built
    from warehouse.client import get_client

    demo = read_demo(settings)
    client = get_client(settings)
    try:
        written = 0 if demo is None or warehouse_built(client) else seed_demo_history(client, demo)
    finally:
        client.close()
    return [f"demo: {written} sample signals of the last {DAYS} days, for the dashboards and the demo page"] if written else []


def main() -> None:
    app()
