"""Control-plane tests run once per backend: ``control_settings`` is parametrized over SQLite and PostgreSQL."""

from tests.fixtures.control_db import control_settings  # noqa: F401
