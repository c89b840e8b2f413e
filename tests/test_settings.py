import subprocess
import sys

import pytest

from feelback.settings import Settings, SettingsError, load_settings, parse_clickhouse_url


def test_defaults_run_the_embedded_stack_under_dot_feelback(monkeypatch):
    for name in ("FEELBACK_HOME", "FEELBACK_CLICKHOUSE_URL", "FEELBACK_DATABASE_URL", "FEELBACK_SMTP_URL", "FEELBACK_WAREHOUSE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    target = settings.clickhouse
    assert (target.host, target.http_port, target.native_port, target.user) == ("127.0.0.1", 8123, 9000, "default")
    assert settings.warehouse_dir.as_posix() == ".feelback/clickhouse"
    assert settings.control_db_url == "sqlite:///.feelback/control.db"
    assert settings.outbox_url.startswith("file://") and settings.outbox_url.endswith(".feelback/outbox")


def test_clickhouse_url_carries_credentials_database_and_native_port():
    target = parse_clickhouse_url("https://analyst:p%40ss@ch.example.com/feedback?native_port=9441")
    assert target.secure and target.http_port == 8443 and target.native_port == 9441
    assert (target.user, target.password, target.database) == ("analyst", "p@ss", "feedback")
    assert not target.is_loopback


@pytest.mark.parametrize(
    "variable, value, words",
    [
        ("FEELBACK_CLICKHOUSE_URL", "not a url", "unknown scheme"),
        ("FEELBACK_CLICKHOUSE_URL", "tcp://127.0.0.1:9000", "unknown scheme 'tcp'"),
        ("FEELBACK_CLICKHOUSE_URL", "http://127.0.0.1:70000", "'70000'"),
        ("FEELBACK_CLICKHOUSE_URL", "http://127.0.0.1:8123?native_port=0", "native_port 0 is out of range"),
        ("FEELBACK_DATABASE_URL", "mysql://db/x", "unknown scheme 'mysql'"),
        ("FEELBACK_SMTP_URL", "smtp://relay:http", "port"),
        ("FEELBACK_API_PORT", "65536", "out of range"),
        ("FEELBACK_API_WORKERS", "0", "from 1 to 64"),
        ("FEELBACK_API_WORKERS", "two", "integer"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_value(monkeypatch, variable, value, words):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith(f"{variable}={value}:") and words in message
    assert "\n" not in message


def test_cli_stops_with_one_line_on_a_bad_setting(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "feelback", "migrate"],
        env={"FEELBACK_CLICKHOUSE_URL": "http://127.0.0.1:abc", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: FEELBACK_CLICKHOUSE_URL=http://127.0.0.1:abc: port 'abc' is not a number in range 1-65535"]
