"""Dashboards as code: provisioning loads every file of dashboards/ and a second run changes nothing."""

from __future__ import annotations

from feelback import dashboards
from dashboards.superset.assets import read_specs

# Timestamps, audit users and the encrypted password (a fresh nonce each time) change on any write; the
# import rewrites the dashboard-chart links, so only their surrogate ids change there.
_VOLATILE = {"changed_on", "created_on", "changed_by_fk", "created_by_fk", "password", "last_saved_at", "last_saved_by_fk"}
_SURROGATE_ID = {"dashboard_slices"}
_TABLES = ["dbs", "tables", "table_columns", "sql_metrics", "slices", "dashboards", "dashboard_slices"]


def snapshot(superset) -> dict[str, list[dict]]:
    state = {}
    for table in _TABLES:
        names = [row[1] for row in superset.metadata(f"PRAGMA table_info({table})")]
        rows = superset.metadata(f"SELECT * FROM {table}")
        state[table] = sorted(
            (
                {name: value for name, value in zip(names, row)
                 if name not in _VOLATILE and not (name == "id" and table in _SURROGATE_ID)}  # fmt: skip
                for row in rows
            ),
            key=repr,
        )
    return state


def test_everything_in_the_files_is_provisioned(superset):
    uuids = lambda table: {row[0].replace("-", "") for row in superset.metadata(f"SELECT hex(uuid) FROM {table}")}  # noqa: E731
    for kind, table in (("datasets", "tables"), ("charts", "slices"), ("dashboards", "dashboards")):
        expected = {spec["uuid"].replace("-", "").upper() for spec in read_specs(kind).values()}
        assert expected <= {u.upper() for u in uuids(table)}, kind
    assert superset.provision_lines[-1].startswith("dashboards: provisioned ")


def test_provisioning_again_changes_nothing(superset):
    before = snapshot(superset)
    assert before["slices"] and before["dashboards"] and before["table_columns"]
    lines = dashboards.provision(superset.settings)
    assert lines == [superset.provision_lines[-1]], "a second run must not migrate, initialize or create the admin again"
    assert snapshot(superset) == before
