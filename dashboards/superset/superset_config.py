"""Superset's configuration for Feelback (SUPERSET_CONFIG_PATH points here).

Runs inside Superset's own virtualenv, so it imports nothing of Feelback: ``feelback.dashboards``
passes what it needs in ``FEELBACK_SUPERSET_*`` environment variables.
"""

import os
import re

SECRET_KEY = os.environ["FEELBACK_SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["FEELBACK_SUPERSET_METADATA_URL"]
if SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
    # The embedded stack's metadata is one SQLite file that gunicorn's threads all write (Superset logs
    # every chart request there): on a busy machine, wait for its lock longer than sqlite3's 5 s.
    SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"timeout": 30}}

FEATURE_FLAGS = {"ENABLE_TEMPLATE_PROCESSING": True}
# Served on loopback over plain HTTP by default; a production deployment puts TLS in front.
TALISMAN_ENABLED = False
CONTENT_SECURITY_POLICY_WARNING = False
SESSION_COOKIE_SECURE = False
RATELIMIT_STORAGE_URI = "memory://"
THUMBNAILS_AUTO_UPDATE = False
SQLLAB_CTAS_NO_LIMIT = False
LOG_LEVEL = os.environ.get("FEELBACK_SUPERSET_LOG_LEVEL", "WARNING").upper()
SUPERSET_LOG_VIEW = False
ROW_LIMIT = 10000
APP_NAME = "Feelback"

_INTEGER = re.compile(r"^-?\d+$")


def clickhouse_literal(values, clickhouse_type, default=None):
    """A dashboard filter's value as a safely quoted ClickHouse literal of ``clickhouse_type``.

    The questions in dashboards/*.sql take ClickHouse query parameters (``{project_id:String}``);
    provisioning turns each into ``{{ clickhouse_literal(filter_values('project_id', remove_filter=True),
    'String', default) }}``. A filter value never reaches the SQL unquoted: numbers must look like
    numbers, everything else becomes a string literal with ``\\`` and ``'`` escaped.
    """
    value = values[0] if values else default
    if value is None:
        return "NULL"
    text = str(value)
    if re.match(r"^U?Int\d+$", clickhouse_type):
        if not _INTEGER.match(text):
            raise ValueError(f"{text!r} is not a whole number")
        return text
    if clickhouse_type.startswith("Float"):
        return repr(float(text))
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


JINJA_CONTEXT_ADDONS = {"clickhouse_literal": clickhouse_literal}
