"""Projects made before accounts move into organizations of their own; the CLI makes and links accounts."""

from __future__ import annotations

import re

import pytest

from sqlalchemy import select, text
from typer.testing import CliRunner

from feelback.cli import app as cli
from feelback.control_plane.account_models import Membership, Role, User
from feelback.control_plane.db import get_engine, get_sessionmaker, upgrade_control_plane
from feelback.control_plane.users import OPERATOR_EMAIL
from feelback.settings import Settings
from tests.fixtures.postgres import shared_server
from tests.accounts.conftest import PASSWORD, Browser, link_token, new_email


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_existing_projects_move_into_organizations_owned_by_the_operator(tmp_path, backend):
    url = f"sqlite:///{tmp_path}/old.db" if backend == "sqlite" else shared_server().create_database("premigration")
    settings = Settings(database_url=url)
    upgrade_control_plane(settings, "0001")
    with get_engine(settings).begin() as connection:
        for project_id in ("old-one-aaaaaa", "old-two-bbbbbb"):
            connection.execute(
                text("INSERT INTO projects (id, name, allowed_origins, timezone, retention_days, created_at, updated_at) "
                     "VALUES (:id, :name, '[]', 'UTC', 30, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
                {"id": project_id, "name": project_id.title()},
            )
    upgrade_control_plane(settings)
    with get_engine(settings).connect() as connection:
        rows = connection.execute(text(
            "SELECT p.id, o.name, u.email, m.role FROM projects p JOIN organizations o ON o.id = p.organization_id "
            "JOIN memberships m ON m.organization_id = o.id JOIN users u ON u.id = m.user_id ORDER BY p.id"
        )).all()
        organizations = connection.execute(text("SELECT count(DISTINCT organization_id) FROM projects")).scalar()
    assert [tuple(row) for row in rows] == [
        ("old-one-aaaaaa", "Old-One-Aaaaaa", OPERATOR_EMAIL, "owner"), ("old-two-bbbbbb", "Old-Two-Bbbbbb", OPERATOR_EMAIL, "owner")
    ]
    assert organizations == 2
    get_engine(settings).dispose()


def _run(settings, *arguments):
    return CliRunner().invoke(cli, list(arguments), env={"FEELBACK_DATABASE_URL": settings.database_url})


def test_cli_user_and_project_owner(accounts_settings, app, mailbox):
    settings = accounts_settings
    address = new_email("cli")
    made = _run(settings, "user", "create", address, "--name", "Ops")
    assert made.exit_code == 0, made.output
    assert re.search(r"user_id: usr_\S+", made.stdout)
    assert _run(settings, "user", "create", address).exit_code == 1
    assert _run(settings, "user", "create", "not-an-address").exit_code == 2

    # without --owner the README's steps work as before; the operator account owns the project
    plain = _run(settings, "project", "create", "Docs site")
    assert plain.exit_code == 0 and set(dict(l.split(": ", 1) for l in plain.stdout.splitlines())) == {"project_id", "public_key", "secret_key"}
    plain_id = plain.stdout.split("project_id: ", 1)[1].split()[0]

    owned = _run(settings, "project", "create", "Shop", "--owner", address)
    assert owned.exit_code == 0, owned.output
    owned_id = owned.stdout.split("project_id: ", 1)[1].split()[0]
    newcomer = new_email("newcomer")
    assert _run(settings, "project", "owner", plain_id, newcomer).exit_code == 0  # links a new account
    assert _run(settings, "project", "owner", "nope-123456", address).exit_code == 1

    with get_sessionmaker(settings)() as db:
        roles = {
            (user.email, membership.organization_id): membership.role
            for membership, user in db.execute(select(Membership, User).join(User))
        }
    listed = _run(settings, "user", "list")
    assert address in listed.stdout and "Shop:owner" in listed.stdout

    # the CLI-made account signs in with a mailed link and sees its project
    browser = Browser(app)
    browser.post("/v1/auth/magic-link", {"email": address})
    assert browser.post("/v1/auth/magic-link/sign-in", {"token": link_token(mailbox, address, "sign-in/link")}).status_code == 200
    assert browser.get(f"/v1/projects/{owned_id}").status_code == 200
    assert browser.get(f"/v1/projects/{plain_id}").status_code == 404
    assert sorted(role for (email, _), role in roles.items() if email == newcomer) == [Role.owner]
    # and may set a password with a reset link
    browser.post("/v1/auth/password-reset", {"email": newcomer})
    other = Browser(app)
    done = other.post("/v1/auth/password-reset/confirm", {"token": link_token(mailbox, newcomer, "reset-password"), "password": PASSWORD})
    assert done.status_code == 200 and [o["role"] for o in done.json()["organizations"]] == ["owner"]
    assert other.get(f"/v1/projects/{plain_id}").status_code == 200
