"""The environment dbt's profile (dbt_project/profiles.yml) reads, derived from FEELBACK_CLICKHOUSE_URL.

``python -m pipelines.dbt_env`` prints it as ``export`` lines, for running dbt by hand:
``eval "$(python -m pipelines.dbt_env)" && dbt build --project-dir dbt_project --profiles-dir dbt_project``.
"""

from __future__ import annotations

import shlex

from feelback.settings import ClickHouseTarget, get_settings


def dbt_env(target: ClickHouseTarget | None = None) -> dict[str, str]:
    target = target or get_settings().clickhouse
    return {
        "FEELBACK_CLICKHOUSE_HOST": target.host,
        "FEELBACK_CLICKHOUSE_HTTP_PORT": str(target.http_port),
        "FEELBACK_CLICKHOUSE_USER": target.user,
        "FEELBACK_CLICKHOUSE_PASSWORD": target.password,
        "FEELBACK_CLICKHOUSE_SECURE": "true" if target.secure else "false",
    }


if __name__ == "__main__":
    for name, value in dbt_env().items():
        print(f"export {name}={shlex.quote(value)}")
