"""Apache Superset for the analysts' dashboards: its environment, set-up, provisioning and server command.

Superset runs from its own virtualenv (``.venv-superset``, installed by ``make install`` from
dashboards/superset/requirements.lock): its dependencies cannot share ours. Everything it needs from
the settings goes to it as ``FEELBACK_SUPERSET_*`` environment variables read by
dashboards/superset/superset_config.py; metadata lives under ``<home>/superset/`` by default.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import quote

from feelback.generated_secrets import clickhouse_user_password, generated_secret
from feelback.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SUPERSET_DIR = ROOT / "dashboards" / "superset"
VENV = ROOT / ".venv-superset"
ADMIN_USER = "admin"


class SupersetMissing(RuntimeError):
    """Superset's virtualenv is not installed."""


def superset_bin(name: str) -> Path:
    path = VENV / "bin" / name
    if not path.exists():
        raise SupersetMissing(
            f"Superset's environment is not installed ({VENV} has no bin/{name}): run `make install`, "
            "or set FEELBACK_DASHBOARDS=off"
        )
    return path


def superset_home(settings: Settings) -> Path:
    home = (settings.home / "superset").resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def admin_password(settings: Settings) -> str:
    return settings.superset_admin_password or generated_secret(settings.home, "superset-admin-password")


def clickhouse_uri(settings: Settings) -> tuple[str, str]:
    """Superset's SQLAlchemy URI for ClickHouse (password masked) and the password, as the read-only user."""
    target = settings.clickhouse
    user = settings.superset_clickhouse_user
    password = clickhouse_user_password(settings, user) if user in settings.clickhouse_users else target.password
    if user not in settings.clickhouse_users and user != target.user:
        raise ValueError(f"FEELBACK_SUPERSET_CLICKHOUSE_USER={user} is not in FEELBACK_CLICKHOUSE_USERS")
    credentials = quote(user, safe="") + (":XXXXXXXXXX" if password else "")
    uri = f"clickhousedb://{credentials}@{target.host}:{target.http_port}/{quote(target.database, safe='')}"
    if target.secure:
        uri += "?secure=true"
    return uri, password


def superset_env(settings: Settings) -> dict[str, str]:
    home = superset_home(settings)
    uri, password = clickhouse_uri(settings)
    return {
        **os.environ,
        "SUPERSET_CONFIG_PATH": str(SUPERSET_DIR / "superset_config.py"),
        "SUPERSET_HOME": str(home),
        "FEELBACK_SUPERSET_SECRET_KEY": generated_secret(settings.home, "superset-secret-key"),
        "FEELBACK_SUPERSET_METADATA_URL": settings.superset_metadata_url or f"sqlite:///{home / 'superset.db'}",
        "FEELBACK_SUPERSET_ADMIN_USER": ADMIN_USER,
        "FEELBACK_SUPERSET_ADMIN_PASSWORD": admin_password(settings),
        "FEELBACK_SUPERSET_CLICKHOUSE_URI": uri,
        "FEELBACK_SUPERSET_CLICKHOUSE_PASSWORD": password,
        "FEELBACK_SUPERSET_LOG_LEVEL": settings.log_level,
        "PYTHONWARNINGS": "ignore",
    }


def provision(settings: Settings) -> list[str]:
    """Set up the metadata DB (migrations, admin, init once per version) and import the dashboards."""
    result = subprocess.run(
        [str(superset_bin("python")), str(SUPERSET_DIR / "provision.py")],
        env=superset_env(settings),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"provisioning Superset failed:\n{result.stderr[-4000:]}")
    return [line for line in result.stdout.splitlines() if line.startswith("dashboards:")]


def server_command(settings: Settings, host: str = "127.0.0.1", port: int | None = None) -> list[str]:
    """Superset's web server: gunicorn with one process (a few threads), on loopback by default."""
    return [
        str(superset_bin("gunicorn")),
        "--bind", f"{host}:{port or settings.superset_port}",
        "--workers", "1", "--threads", "4", "--worker-class", "gthread",
        "--timeout", "120", "--log-level", "warning",
        "superset.app:create_app()",
    ]  # fmt: skip


def stack_part(settings: Settings):
    """Superset as a part of ``feelback up``: provisions, then serves (``feelback dashboards serve``)."""
    import signal
    import sys

    from feelback.stack import Part

    url = f"http://127.0.0.1:{settings.superset_port}"
    password = admin_password(settings)
    return Part(
        "superset",
        [sys.executable, "-m", "feelback", "dashboards", "serve"],
        f"{url}/health",
        {"Superset": url, "Superset sign-in": f"{ADMIN_USER} / {password}"},
        ready_timeout=300,  # a first start migrates and initializes the metadata DB (about 30 s on a quiet machine)
        stop_signal=signal.SIGINT,  # gunicorn's quick shutdown (SIGTERM waits for requests up to 30 s)
        muted=("Loaded your LOCAL configuration",),  # superset/config.py prints it at every import
    )
