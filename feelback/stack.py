"""``feelback up``: start, supervise and stop the processes of the embedded stack together.

Each part runs as its own process, exactly as in production (where each is a container pointed at
real servers by the URLs in the settings); this module only starts them in order, waits until each
answers, applies migrations, prints the URLs and stops everything when one exits or on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import typer
from rich.console import Console

from feelback.log import scrub_text
from feelback.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 10
STRAGGLER_GRACE_SECONDS = 3
progress = Console(stderr=True)


@dataclass
class Part:
    name: str
    command: list[str]
    ready_url: str | None  # None: ready once it has stayed up for a moment
    urls: dict[str, str]
    env: dict[str, str] | None = None
    ready_timeout: float = 120
    stop_signal: signal.Signals = signal.SIGTERM
    muted: tuple[str, ...] = ()  # lines of its output containing one of these are not relayed
    before_stop: Callable[[], str] | None = None  # run before its signal; what it returns joins its stop line
    log_file: Path | None = None  # its output goes to this file instead of ours (still without IP addresses)

    def log_tail(self, lines: int = 20) -> str:
        """The end of its log file, to explain why it stopped ("" when its output is ours)."""
        if self.log_file is None or not self.log_file.exists():
            return ""
        with open(self.log_file, encoding="utf-8", errors="replace") as log:
            tail = [line.rstrip("\n") for line in deque(log, maxlen=lines)]  # months of nightly runs: read, not kept
        return "\n".join([f"last lines of {self.log_file}:", *tail])


def _answers(url: str) -> bool:
    if url.startswith("tcp://"):
        host, port = url.removeprefix("tcp://").rsplit(":", 1)
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return True
        except OSError:
            return False
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
        from feelback.dagster_stack import dagster_parts

        parts += dagster_parts(settings)
    if settings.dashboards:
        from feelback.dashboards import stack_part

        parts.append(stack_part(settings))
    return parts


def _mail_outbox(settings: Settings) -> dict[str, str]:
    """The outbox folder, when mails are files: a newcomer signing up in the panel finds the link there."""
    url = settings.outbox_url
    if not url.startswith("file://"):
        return {}
    return {"Mail outbox": f"{url.removeprefix('file://')}/  (sign-up links and recaps, as .eml files)"}


class Stopping(Exception):
    """Ctrl-C (or SIGTERM) arrived while a part was starting."""


def _wait_ready(part: Part, process: subprocess.Popen, timeout: float, stopping: threading.Event) -> None:
    deadline = time.monotonic() + (1 if part.ready_url is None else timeout)
    while time.monotonic() < deadline:
        if stopping.is_set():
            raise Stopping
        if process.poll() is not None:
            raise RuntimeError("\n".join(filter(None, [
                f"{part.name} exited with code {process.returncode} before it was ready", part.log_tail()
            ])))  # fmt: skip
        if part.ready_url is not None and _answers(part.ready_url):
            return
        time.sleep(0.2)
    if part.ready_url is not None:
        raise RuntimeError(f"{part.name} did not answer at {part.ready_url} within {timeout:.0f} s")


def _stop(processes: list[tuple[Part, subprocess.Popen]]) -> None:
    """Stop the parts one by one, last started first (Superset and Dagster before the API, the
    warehouse last: nothing still running loses its database), each with the signal it expects,
    then whatever its process group still holds (code servers, run workers, provisioning)."""
    for part, process in reversed(processes):
        began = time.monotonic()
        how = "stopped"
        note = _before_stop(part) if process.poll() is None else ""
        if process.poll() is None:
            process.send_signal(part.stop_signal)
            try:
                process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                how = f"killed after {STOP_GRACE_SECONDS} s"
        elif process.returncode not in (0, -part.stop_signal):
            how = f"had exited with code {process.returncode}"
        _stop_group(process.pid)
        typer.echo(f"{part.name}: {how} ({time.monotonic() - began:.1f} s){note and ', ' + note}", err=True)


def _before_stop(part: Part) -> str:
    if part.before_stop is None:
        return ""
    try:
        return part.before_stop()
    except Exception as exc:  # the part stops anyway
        return f"{type(exc).__name__} before stopping: {exc}"


def _stop_group(group: int) -> None:
    """SIGTERM to what remains of a part's process group (its own session), SIGKILL after a grace."""
    deadline = time.monotonic() + STRAGGLER_GRACE_SECONDS
    sent = None
    while True:
        try:
            if sent is None or time.monotonic() > deadline:
                sent = signal.SIGKILL if sent is not None else signal.SIGTERM
                os.killpg(group, sent)
                if sent == signal.SIGKILL:
                    return
            else:
                os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.1)


def _echo_all(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)


def _relay(output, muted: tuple[str, ...] = (), quiet: threading.Event | None = None, sink=None) -> None:
    """Copy a part's output to ours line by line, every IP address replaced by its hash: the parts'
    own logs (Dagster's and Superset's access logs among them) never show a client's address.
    Once the stack stops (``quiet``), the parts' farewells (interrupted loads' tracebacks among
    them) are dropped: each part's stop is one line of ours."""
    sink = sink or sys.stdout
    for line in iter(output.readline, b""):
        text = line.decode("utf-8", "replace")
        if (quiet is not None and quiet.is_set()) or any(mute in text for mute in muted):
            continue
        sink.write(scrub_text(text))
        sink.flush()


def run_stack(settings: Settings, migrate: Callable[[Settings], list[str]]) -> int:
    settings.home.mkdir(parents=True, exist_ok=True)
    processes: list[tuple[Part, subprocess.Popen]] = []
    stopping = threading.Event()

    def request_stop(*_):
        stopping.set()

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
            sink = None
            if part.log_file is not None:
                part.log_file.parent.mkdir(parents=True, exist_ok=True)
                sink = open(part.log_file, "a", encoding="utf-8")  # noqa: SIM115 - the relay thread's until the part ends
            relay = threading.Thread(
                target=_relay, args=(process.stdout, part.muted, stopping, sink), name=f"{part.name}-output", daemon=True
            )
            relay.start()
            processes.append((part, process))
            with progress.status(f"starting {part.name}"):
                _wait_ready(part, process, part.ready_timeout, stopping)
            if part.name == "warehouse":
                _echo_all(migrate(settings))
        typer.echo("Feelback is up:")
        for part, _ in processes:
            for label, url in part.urls.items():
                typer.echo(f"  {label:<18} {url}")
        typer.echo("Ctrl-C stops everything.")
        if any(part.name == "dagster-daemon" for part in parts):
            from feelback.first_build import start_first_build

            start_first_build(settings, typer.echo)
        while not stopping.is_set():
            for part, process in processes:
                if process.poll() is not None:
                    typer.echo(f"error: {part.name} exited with code {process.returncode}; stopping the stack", err=True)
                    if part.log_tail():
                        typer.echo(part.log_tail(), err=True)
                    return 1
            stopping.wait(0.5)
        return 0
    except Stopping:
        return 0
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1
    finally:
        stopping.set()
        if processes:
            typer.echo("stopping…", err=True)
        _stop(processes)
