"""One typed settings object for every process, read from ``FEELBACK_*`` environment variables.

Defaults run the embedded stack with all state under ``.feelback/`` in the working directory.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "FEELBACK_"

CLICKHOUSE_SCHEMES = {"http": (8123, 9000), "https": (8443, 9440)}
DATABASE_SCHEMES = ("sqlite", "postgresql")
SMTP_SCHEMES = ("file", "smtp", "smtps")


MAX_API_WORKERS = 64


class SettingsError(ValueError):
    """A setting has a value Feelback cannot use; the message names the variable and the value."""


@dataclass(frozen=True)
class ClickHouseTarget:
    """Where ClickHouse is, parsed from ``FEELBACK_CLICKHOUSE_URL``.

    The URL names the HTTP interface; the native TCP port rides along as the ``native_port``
    query parameter (default 9000, or 9440 over TLS), as clients such as dlt need both.
    """

    url: str
    secure: bool
    host: str
    http_port: int
    native_port: int
    user: str
    password: str
    database: str

    @property
    def http_url(self) -> str:
        scheme = "https" if self.secure else "http"
        return f"{scheme}://{self.host}:{self.http_port}"

    @property
    def is_loopback(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1")


def _port(value: str | int | None, default: int, what: str) -> int:
    if value is None or value == "":
        return default
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{what} {port} is out of range 1-65535")
    return port


def parse_clickhouse_url(url: str) -> ClickHouseTarget:
    parts = urlsplit(url)
    if parts.scheme not in CLICKHOUSE_SCHEMES:
        raise ValueError(f"unknown scheme {parts.scheme or '(none)'!r}, expected one of: {', '.join(CLICKHOUSE_SCHEMES)}")
    if not parts.hostname:
        raise ValueError("no host")
    http_default, native_default = CLICKHOUSE_SCHEMES[parts.scheme]
    try:
        raw_port = parts.port
    except ValueError:
        raise ValueError(f"port {parts.netloc.rsplit(':', 1)[-1]!r} is not a number in range 1-65535") from None
    query = parse_qs(parts.query)
    unknown = set(query) - {"native_port"}
    if unknown:
        raise ValueError(f"unknown query parameter(s) {', '.join(sorted(unknown))}; only native_port is understood")
    return ClickHouseTarget(
        url=url,
        secure=parts.scheme == "https",
        host=parts.hostname,
        http_port=_port(raw_port, http_default, "port"),
        native_port=_port(query.get("native_port", [None])[0], native_default, "native_port"),
        user=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
        database=parts.path.strip("/") or "default",
    )


class ClickHouseUser(BaseModel):
    """A named user of the local ClickHouse server, as in ClickHouse's users.xml: a password (empty: one
    generated once under <home>/secrets/) and the ClickHouse settings of its profile (readonly, limits...)."""

    password: str = ""
    settings: dict[str, str | int | float] = {}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    home: Path = Path(".feelback")
    clickhouse_url: str = "http://default:@127.0.0.1:8123/default?native_port=9000"
    database_url: str = ""
    smtp_url: str = ""
    # Data directory of the embedded local ClickHouse server (chDB); empty means <home>/clickhouse.
    warehouse_data_dir: Path | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # API worker processes (uvicorn --workers). They share the ingest secret and the daily salts (files
    # under <home>), each owns a spool lane; rate limits are per process, so up to N times the setting.
    api_workers: int = 1
    # FastAPI's native OpenTelemetry: traces, metrics and logs through the globally configured providers.
    # Off by default: it checks those providers on every request, about 5 % of a single create's CPU.
    api_opentelemetry: bool = False
    dagster_port: int = 3000
    log_level: str = "warning"
    # Operator token for the management API's project-wide routes (create/list projects); empty disables
    # them over HTTP (use `feelback project create`). Per-project routes take that project's secret key.
    admin_token: str = ""
    # Public ingest (ingest_api.routers.signals). Edit tokens are HMACs with this secret; empty means
    # a secret generated once under <home>/secrets/ (set it explicitly when several API replicas run).
    ingest_secret: str = ""
    # Write-ahead spool under <home>/spool/: past this many undrained bytes the API answers 503.
    spool_max_bytes: int = 512 * 1024 * 1024
    spool_drain_interval_ms: int = 250
    # How often the drainer records its lane's backlog in ClickHouse (ops.spool_backlog); 0: never.
    spool_backlog_seconds: float = 10
    ingest_max_body_bytes: int = 1024 * 1024
    # The panel's overviews read in the last day are computed again when a build finishes (looked for
    # this often, only while some were read), so their first read after it is warm; 0: never.
    overview_warm_seconds: float = 30
    rate_limit_visitor_per_minute: int = 120
    # Proxies in front of the API whose X-Forwarded-For names the client: IPs or CIDRs, comma-separated.
    # None by default: the client is the connection's peer whatever headers it sends.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    rate_limit_project_per_second: int = 1000
    # Scheduled jobs (pipelines/defs): recap sender, where exports and backups go, how long links live.
    mail_from: str = "Feelback <recaps@feelback.localhost>"
    # Folder or fsspec/dlt bucket URL (s3://bucket/prefix, credentials from dlt's env config); empty: <home>/exports.
    exports_url: str = ""
    export_link_ttl_seconds: int = 24 * 3600
    export_keep_days: int = 7
    # Folder the ClickHouse server can write with BACKUP ... TO File(); empty: <home>/backups.
    backup_url: str = ""
    backup_full_every_days: int = 7

    # Accounts and sessions (ingest_api.auth). public_url: the API as browsers reach it (links in
    # account mails, cookie Secure flag); empty: http://<api_host>:<api_port>. panel_origins: other
    # origins (comma-separated) allowed to send cookie-authenticated writes besides the API's own.
    public_url: str = ""
    panel_origins: str = ""
    session_idle_seconds: int = 3 * 24 * 3600
    session_max_seconds: int = 30 * 24 * 3600
    # Signs account links; empty: 32 random bytes made once under <home>/secrets/auth.
    auth_secret: str = ""
    # Named users of the local ClickHouse server besides `default` (JSON: {"name": {"password": "...", "settings": {...}}}).
    # readonly=1 lets the engine refuse every write, DDL, temporary table and file()/url() access.
    clickhouse_users: dict[str, ClickHouseUser] = {"analyst": ClickHouseUser(settings={"readonly": "1"})}
    # Analysts' dashboards: Apache Superset in its own virtualenv (dashboards/superset/), started by `feelback up`.
    dashboards: bool = True
    superset_port: int = 8088
    superset_admin_password: str = ""  # empty: generated once under <home>/secrets/ and printed by `feelback up`
    superset_metadata_url: str = ""  # empty: SQLite under <home>/superset/; production: PostgreSQL
    superset_clickhouse_user: str = "analyst"  # Superset's connection: this user (read-only) at FEELBACK_CLICKHOUSE_URL

    @field_validator("clickhouse_url")
    @classmethod
    def _check_clickhouse_url(cls, value: str) -> str:
        parse_clickhouse_url(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value:
            scheme = urlsplit(value).scheme.split("+", 1)[0]
            if scheme not in DATABASE_SCHEMES:
                raise ValueError(f"unknown scheme {scheme or '(none)'!r}, expected one of: {', '.join(DATABASE_SCHEMES)}")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str) -> str:
        if value:
            parts = urlsplit(value)
            if parts.scheme not in SMTP_SCHEMES:
                raise ValueError(f"unknown scheme {parts.scheme or '(none)'!r}, expected one of: {', '.join(SMTP_SCHEMES)}")
            try:
                parts.port
            except ValueError:
                raise ValueError("port is not a number in range 1-65535") from None
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        networks = []
        for item in value:
            try:
                networks.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or a network like 10.0.0.0/8") from None
        return networks

    @field_validator("api_port", "dagster_port", "superset_port")
    @classmethod
    def _check_port(cls, value: int) -> int:
        return _port(value, value, "port")

    @field_validator("api_workers")
    @classmethod
    def _check_workers(cls, value: int) -> int:
        if not 1 <= value <= MAX_API_WORKERS:
            raise ValueError(f"must be a whole number of processes from 1 to {MAX_API_WORKERS}")
        return value

    @property
    def clickhouse(self) -> ClickHouseTarget:
        return parse_clickhouse_url(self.clickhouse_url)

    @property
    def warehouse_dir(self) -> Path:
        return self.warehouse_data_dir or self.home / "clickhouse"

    @property
    def control_db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'control.db').as_posix()}"

    @property
    def outbox_url(self) -> str:
        return self.smtp_url or f"file://{(self.home / 'outbox').resolve().as_posix()}"

    @property
    def api_base_url(self) -> str:
        return (self.public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def exports_location(self) -> str:
        return self.exports_url or (self.home / "exports").resolve().as_posix()

    @property
    def backup_dir(self) -> Path:
        return Path(self.backup_url.removeprefix("file://") or self.home / "backups").resolve()


def load_settings() -> Settings:
    """Read settings from the environment; a bad value raises SettingsError naming variable and value."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        reason = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{ENV_PREFIX}{field.upper()}={error.get('input')!s}: {reason}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
