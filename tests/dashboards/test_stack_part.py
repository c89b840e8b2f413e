"""`feelback up` runs Superset unless FEELBACK_DASHBOARDS=off, on loopback, printing how to sign in."""

import signal

from feelback import dashboards
from feelback.settings import Settings
from feelback.stack import parts_of


def test_up_includes_superset_on_loopback_with_its_sign_in(tmp_path):
    settings = Settings(home=tmp_path, superset_port=18088, superset_admin_password="s3cret")
    superset = parts_of(settings)[-1]
    assert superset.name == "superset"
    assert superset.command[-2:] == ["dashboards", "serve"]
    assert superset.ready_url == "http://127.0.0.1:18088/health"
    assert superset.urls["Superset sign-in"] == "admin / s3cret"
    assert dashboards.server_command(settings)[1:3] == ["--bind", "127.0.0.1:18088"]
    assert superset.stop_signal == signal.SIGINT  # gunicorn's quick shutdown
    assert superset.muted == ("Loaded your LOCAL configuration",)  # Superset's print at every start


def test_dashboards_off_leaves_superset_out(tmp_path, monkeypatch):
    monkeypatch.setenv("FEELBACK_DASHBOARDS", "off")
    assert "superset" not in [part.name for part in parts_of(Settings(home=tmp_path))]


def test_the_admin_password_is_generated_once(tmp_path):
    settings = Settings(home=tmp_path)
    first = dashboards.admin_password(settings)
    assert len(first) >= 32 and dashboards.admin_password(Settings(home=tmp_path)) == first


def test_superset_connects_as_the_read_only_user(tmp_path):
    settings = Settings(home=tmp_path, clickhouse_url="http://default:pw@127.0.0.1:18123/default")
    uri, password = dashboards.clickhouse_uri(settings)
    assert uri == "clickhousedb://analyst:XXXXXXXXXX@127.0.0.1:18123/default"
    assert password and password != "pw"
    assert settings.clickhouse_users["analyst"].settings["readonly"] == "1"


def test_a_missing_superset_environment_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(dashboards, "VENV", tmp_path / "no-venv")
    try:
        dashboards.provision(Settings(home=tmp_path))
    except dashboards.SupersetMissing as missing:
        assert "make install" in str(missing) and "FEELBACK_DASHBOARDS=off" in str(missing)
    else:
        raise AssertionError("provisioning without Superset's environment must fail")
