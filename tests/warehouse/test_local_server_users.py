"""Named users of the local server (warehouse/local_server/users.py): passwords and settings profiles."""

import pytest

from feelback.settings import ClickHouseUser, Settings
from warehouse.local_server.errors import AUTHENTICATION_FAILED, ClickHouseError
from warehouse.local_server.users import User, Users, users_from_settings


def test_each_user_signs_in_with_its_own_password_and_gets_its_profile():
    users = Users([User("default", "root-pw"), User("analyst", "a-pw", {"readonly": "1", "max_execution_time": "30"})])
    assert users.authenticate("default", "root-pw") == {}
    assert users.authenticate("analyst", "a-pw") == {"readonly": "1", "max_execution_time": "30"}
    for name, password in (("analyst", "root-pw"), ("default", "a-pw"), ("nobody", ""), ("analyst", "")):
        with pytest.raises(ClickHouseError) as refused:
            users.authenticate(name, password)
        assert refused.value.code == AUTHENTICATION_FAILED
        assert f"{name}: Authentication failed" in refused.value.message


def test_users_from_settings_generate_a_password_once_when_none_is_set(tmp_path):
    settings = Settings(home=tmp_path, clickhouse_users={"analyst": ClickHouseUser(settings={"readonly": "1"}),
                                                         "ops": ClickHouseUser(password="ops-pw")})  # fmt: skip
    users = users_from_settings(settings, "root-pw")
    generated = (tmp_path / "secrets" / "clickhouse-user-analyst").read_text()
    assert users.authenticate("analyst", generated) == {"readonly": "1"}
    assert users.authenticate("ops", "ops-pw") == {}
    assert users_from_settings(settings, "root-pw").authenticate("analyst", generated) == {"readonly": "1"}


def test_users_come_from_json_in_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FEELBACK_CLICKHOUSE_USERS", '{"bi": {"password": "x", "settings": {"readonly": 2}}}')
    settings = Settings(home=tmp_path)
    assert users_from_settings(settings, "").authenticate("bi", "x") == {"readonly": "2"}
