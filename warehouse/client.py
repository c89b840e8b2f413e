"""clickhouse-connect clients for ``FEELBACK_CLICKHOUSE_URL``: the local server or any real ClickHouse."""

from __future__ import annotations

from clickhouse_connect import get_client as _connect
from clickhouse_connect.driver.client import Client

from feelback.settings import Settings, get_settings


def get_client(settings: Settings | None = None, **overrides) -> Client:
    """A new HTTP client for the configured ClickHouse; keyword ``overrides`` go to clickhouse-connect."""
    target = (settings or get_settings()).clickhouse
    options = dict(
        host=target.host,
        port=target.http_port,
        username=target.user,
        password=target.password,
        database=target.database,
        secure=target.secure,
        connect_timeout=5,
        autogenerate_session_id=False,
    )
    options.update(overrides)
    return _connect(**options)
