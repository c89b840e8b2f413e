"""The control-plane schema on SQLite and PostgreSQL: migrations, constraints, keys stored hashed."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from feelback.control_plane.db import alembic_config, engine_url, get_engine, get_sessionmaker, session_scope, upgrade_control_plane
from feelback.control_plane.keys import KeyKind, generate_key, hash_key, verify_key
from feelback.control_plane.models import (
    ApiKey,
    Base,
    ContentSet,
    ErasureRequest,
    Project,
    RecapDelivery,
    RecapFrequency,
    RecapSubscription,
    SignalTriage,
    TriageState,
)
from feelback.control_plane.projects import create_project, find_api_key


def test_postgresql_urls_use_psycopg3():
    assert engine_url("postgresql://u:p@db:5432/feelback").drivername == "postgresql+psycopg"
    assert engine_url("postgresql+psycopg://u@db/feelback").drivername == "postgresql+psycopg"
    assert engine_url("sqlite:///x.db").drivername == "sqlite"


def test_migrations_build_exactly_the_models(control_settings):
    upgrade_control_plane(control_settings)  # a second run is a no-op
    with get_engine(control_settings).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert context.get_current_revision() == ScriptDirectory.from_config(alembic_config(control_settings)).get_current_head()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    from feelback.settings import Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path}/nested/control.db")
    upgrade_control_plane(settings)
    with get_engine(settings).connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    get_engine(settings).dispose()


def test_created_project_stores_only_key_hashes(control_settings):
    with session_scope(control_settings) as session:
        created = create_project(session, "Acme Docs", ["https://Acme.com/"], "Europe/Paris", 30)
        project_id = created.project.id
    assert project_id.startswith("acme-docs-")
    assert created.public_key.startswith("fb_pk_") and created.secret_key.startswith("fb_sk_")

    with get_engine(control_settings).connect() as connection:
        rows = connection.execute(text("SELECT * FROM api_keys")).mappings().all()
        dump = repr([dict(row) for row in rows])
    assert len(rows) == 2
    for plaintext in (created.public_key, created.secret_key):
        assert plaintext not in dump
        assert plaintext[6:] not in dump
        assert hash_key(plaintext) in dump

    with get_sessionmaker(control_settings)() as session:
        project = session.get(Project, project_id)
        assert project.allowed_origins == ["https://acme.com"]
        assert project.created_at.tzinfo is dt.UTC
        assert find_api_key(session, created.secret_key).kind is KeyKind.secret
        altered = created.secret_key[:-1] + ("x" if created.secret_key[-1] != "x" else "y")
        assert find_api_key(session, altered) is None
        assert find_api_key(session, "not-a-key") is None


def test_bad_project_input_is_refused_before_storing(control_settings):
    with get_sessionmaker(control_settings)() as session:
        for arguments, problem in (
            (("P", [], "Mars/Base"), "unknown time zone 'Mars/Base'"),
            (("P", ["example.com"]), "origin 'example.com'"),
            (("P", [], "UTC", 0), "retention days 0"),
            (("  ",), "project name must not be empty"),
        ):
            with pytest.raises(ValueError, match=problem):
                create_project(session, *arguments)
            session.rollback()
        assert session.scalar(select(func.count()).select_from(Project)) == 0


def test_constraints_and_cascading_delete(control_settings):
    Session = get_sessionmaker(control_settings)
    with Session() as session:
        project = create_project(session, "Cascade").project
        session.add_all(
            [
                ContentSet(project_id=project.id, key="docs", signal_type="rating", config={"scale": 5}),
                RecapSubscription(project_id=project.id, email="a@example.com", frequency=RecapFrequency.weekly),
                RecapDelivery(project_id=project.id, period_kind="weekly", period_start=dt.date(2025, 1, 6), recipient="a@example.com"),
                ErasureRequest(project_id=project.id, visitor_id="v1"),
                SignalTriage(project_id=project.id, signal_id="00000000-0000-0000-0000-000000000001", state=TriageState.read),
            ]
        )
        session.commit()

        session.add(ContentSet(project_id=project.id, key="docs", signal_type="like"))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        session.add(RecapDelivery(project_id=project.id, period_kind="weekly", period_start=dt.date(2025, 1, 6), recipient="a@example.com"))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        session.add(ErasureRequest(project_id=project.id))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        project.retention_days = 0
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()

    with get_engine(control_settings).begin() as connection:
        connection.execute(text("DELETE FROM projects"))
        for table in ("api_keys", "content_sets", "recap_subscriptions", "recap_deliveries", "erasure_requests", "signal_triage"):
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0, table


def test_keys_are_random_and_verified_in_constant_time():
    first, second = generate_key("secret"), generate_key(KeyKind.secret)
    assert first.plaintext != second.plaintext and len(first.plaintext) >= 38
    assert first.prefix == first.plaintext[:12] and first.last4 == first.plaintext[-4:]
    assert first.hash == hash_key(first.plaintext) and len(first.hash) == 64
    assert verify_key(first.plaintext, first.hash)
    assert not verify_key(second.plaintext, first.hash)
    assert generate_key("public").plaintext.startswith("fb_pk_")
    with pytest.raises(ValueError):
        generate_key("admin")


def test_api_key_display(control_settings):
    with get_sessionmaker(control_settings)() as session:
        created = create_project(session, "Display")
        key = session.scalars(select(ApiKey).where(ApiKey.kind == KeyKind.public)).one()
        assert key.display == f"{created.public_key[:12]}…{created.public_key[-4:]}"
        assert key.is_active
