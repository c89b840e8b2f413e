"""``feelback up``: start, supervise and stop the processes of the embedded stack together.

Each part runs as its own process, exactly as in production (where each is a container pointed at
real servers by the URLs in the settings); this module only starts them in order, waits until each
answers, applies migrations, prints the URLs and stops everything when one exits or on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import typer
from rich.console import Console

from feelback.log import scrub_text
from feelback.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 10
progress = Console(stderr=True)


@dataclass
class Part:
    name: str
    command: list[str]
    ready_url: str | None  # None: ready once it has stayed up for a moment
    urls: dict[str, str]
    env: dict[str, str] | None = None
    ready_timeout: float = 120


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status < 500
    except Exception:
        return False


def api_command(settings: Settings, host: str, port: int) -> list[str]:
    """The API server as ``feelback up`` runs it: uvicorn with ``settings.api_workers`` processes, each
    on a listening socket of its own (``ingest_api.server``)."""
    command = [sys.executable, "-m", "ingest_api.server", "ingest_api.app:create_app", "--factory", "--host", host,
               "--port", str(port), "--workers", str(settings.api_workers), "--log-level", settings.log_level]  # fmt: skip
    if settings.trusted_proxies:
        command += ["--forwarded-allow-ips", ",".join(settings.trusted_proxies)]
    return command


def parts_of(settings: Settings) -> list[Part]:
    python = sys.executable
    target = settings.clickhouse
    parts = []
    if target.is_loopback:
        parts.append(
            Part(
                "warehouse",
                [python, "-m", "feelback", "warehouse"],
                f"http://127.0.0.1:{target.http_port}/ping",
                {"ClickHouse HTTP": target.http_url, "ClickHouse native": f"tcp://{target.host}:{target.native_port}"},
            )
        )
    if (ROOT / "ingest_api" / "app.py").exists():
        api = f"http://{settings.api_host}:{settings.api_port}"
        parts.append(
            Part(
                "api",
                api_command(settings, settings.api_host, settings.api_port),
                f"{api}/healthz",
                {"API": api, "API docs": f"{api}/docs", "Panel": f"{api}/app/", **_mail_outbox(settings),
                 "Widgets demo": f"{api}/demo/"},
            )
        )
    if (ROOT / "workspace.yaml").exists():
        env = {"DAGSTER_HOME": str(_dagster_home(settings))}
        bin_dir = Path(python).parent
        workspace = ["-w", str(ROOT / "workspace.yaml")]
        dagster_url = f"http://127.0.0.1:{settings.dagster_port}"
        parts.append(
            Part(
                "dagster-webserver",
                [str(bin_dir / "dagster-webserver"), *workspace, "-h", "127.0.0.1", "-p", str(settings.dagster_port),
                 "--log-level", settings.log_level, "--code-server-log-level", _code_server_log_level(settings)],
                f"{dagster_url}/server_info",
                {"Dagster": dagster_url},
                env,
            )
        )
        parts.append(
            Part(
                "dagster-daemon",
                [str(bin_dir / "dagster-daemon"), "run", *workspace, "--log-level", settings.log_level,
                 "--code-server-log-level", _code_server_log_level(settings)],
                None,
                {},
                env,
            )
        )
    if settings.dashboards:
        from feelback.dashboards import stack_part

        parts.append(stack_part(settings))
    return parts


def _code_server_log_level(settings: Settings) -> str:
    """Dagster's daemon reloads its code location every minute: a new code server imports our
    definitions (warning about Dagster's beta APIs) and the old one warns that it shuts down. At the
    default level that is a stream of noise, so code servers then log only errors."""
    return "error" if settings.log_level.lower() == "warning" else settings.log_level


def _mail_outbox(settings: Settings) -> dict[str, str]:
    """The outbox folder, when mails are files: a newcomer signing up in the panel finds the link there."""
    url = settings.outbox_url
    if not url.startswith("file://"):
        return {}
    return {"Mail outbox": f"{url.removeprefix('file://')}/  (sign-up links and recaps, as .eml files)"}


def _dagster_home(settings: Settings) -> Path:
    """DAGSTER_HOME under the Feelback home: SQLite storage, no telemetry, pools of one run."""
    home = (settings.home / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        # One warehouse build at a time: two dbt builds would interleave their deletes and inserts.
        config.write_text("telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n")
    return home


def _wait_ready(part: Part, process: subprocess.Popen, timeout: float) -> None:
    if part.ready_url is None:
        time.sleep(1)
        if process.poll() is not None:
            raise RuntimeError(f"{part.name} exited with code {process.returncode} at start")
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{part.name} exited with code {process.returncode} before it was ready")
        if _answers(part.ready_url):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{part.name} did not answer at {part.ready_url} within {timeout:.0f} s")


def _stop(processes: list[tuple[Part, subprocess.Popen]]) -> None:
    for _, process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for part, process in reversed(processes):
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _echo_all(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)


def _relay(output, sink=None) -> None:
    """Copy a part's output to ours line by line, every IP address replaced by its hash: the parts'
    own logs (Dagster's and Superset's access logs among them) never show a client's address."""
    sink = sink or sys.stdout
    for line in iter(output.readline, b""):
        sink.write(scrub_text(line.decode("utf-8", "replace")))
        sink.flush()


def run_stack(settings: Settings, migrate: Callable[[Settings], list[str]]) -> int:
    settings.home.mkdir(parents=True, exist_ok=True)
    processes: list[tuple[Part, subprocess.Popen]] = []
    stopping = False

    def request_stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    parts = parts_of(settings)
    try:
        if not parts or parts[0].name != "warehouse":
            _echo_all(migrate(settings))
        for part in parts:
            env = {**os.environ, **(part.env or {})}
            process = subprocess.Popen(
                part.command, cwd=os.getcwd(), env=env, start_new_session=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )  # fmt: skip
            threading.Thread(target=_relay, args=(process.stdout,), name=f"{part.name}-output", daemon=True).start()
            processes.append((part, process))
            with progress.status(f"starting {part.name}"):
                _wait_ready(part, process, timeout=part.ready_timeout)
            if part.name == "warehouse":
                _echo_all(migrate(settings))
        typer.echo("Feelback is up:")
        for part, _ in processes:
            for label, url in part.urls.items():
                typer.echo(f"  {label:<18} {url}")
        typer.echo("Ctrl-C stops everything.")
        while not stopping:
            for part, process in processes:
                if process.poll() is not None:
                    typer.echo(f"error: {part.name} exited with code {process.returncode}; stopping the stack", err=True)
                    return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1
    finally:
        _stop(processes)
