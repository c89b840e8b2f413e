import subprocess
import sys


def feelback(*args, env=None):
    return subprocess.run([sys.executable, "-m", "feelback", *args], capture_output=True, text=True, env=env)


def test_restore_names_an_unknown_backup(clickhouse_server):
    result = feelback("restore", "2001-01-01T000000Z-nope", env=clickhouse_server.env())
    assert result.returncode == 1
    assert "no backup '2001-01-01T000000Z-nope' under" in result.stderr


def test_every_command_has_help():
    result = feelback("--help")
    for command in ("warehouse", "migrate", "up", "project", "backup", "restore"):
        assert command in result.stdout
