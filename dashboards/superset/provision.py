"""Set up Superset's metadata and load Feelback's dashboards into it (``feelback dashboards provision``).

Runs with Superset's virtualenv, in one process (each ``superset`` command would load the app again):
migrates the metadata database, makes sure the admin user exists with the configured password, runs
what ``superset init`` does only when Superset's version changed, then builds the asset bundle from dashboards/ (``assets.py``) and imports it with Superset's
``ImportAssetsCommand``, which overwrites the database, datasets, charts and dashboards of the same
UUIDs, so provisioning twice leaves the same state. Reads FEELBACK_SUPERSET_* from the environment.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from assets import DATABASE_FILE, bundle  # noqa: E402


def set_up_metadata() -> list[str]:
    """Migrate the metadata DB, run ``superset init``'s work once per Superset version, ensure the admin."""
    from flask_migrate import upgrade
    from superset import security_manager
    from superset.extensions import appbuilder, db
    from werkzeug.security import check_password_hash

    lines = []
    upgrade()
    marker = Path(os.environ["SUPERSET_HOME"]) / "initialized-version"
    current = version("apache-superset")
    if not marker.exists() or marker.read_text().strip() != current:
        appbuilder.add_permissions(update_perms=True)
        security_manager.sync_role_definitions()
        marker.write_text(current)
        lines.append(f"dashboards: Superset {current} initialized")
    name, password = os.environ["FEELBACK_SUPERSET_ADMIN_USER"], os.environ["FEELBACK_SUPERSET_ADMIN_PASSWORD"]
    admin = security_manager.find_user(username=name)
    if admin is None:
        role = security_manager.find_role("Admin")
        security_manager.add_user(name, "Feelback", "Admin", f"{name}@feelback.localhost", role, password=password)
        lines.append(f"dashboards: admin user {name!r} created")
    elif not check_password_hash(admin.password, password):
        security_manager.reset_password(admin.id, password)
        lines.append(f"dashboards: admin user {name!r} password updated from the settings")
    db.session.commit()
    return lines


def main() -> int:
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import security_manager
        from superset.commands.exceptions import CommandInvalidError
        from superset.commands.importers.v1.assets import ImportAssetsCommand
        from superset.utils.core import override_user

        for line in set_up_metadata():
            print(line)
        admin = security_manager.find_user(username=os.environ["FEELBACK_SUPERSET_ADMIN_USER"])
        contents = bundle(os.environ["FEELBACK_SUPERSET_CLICKHOUSE_URI"])
        password = os.environ.get("FEELBACK_SUPERSET_CLICKHOUSE_PASSWORD", "")
        with override_user(admin):
            try:
                ImportAssetsCommand(contents, passwords={DATABASE_FILE: password} if password else {}).run()
            except CommandInvalidError as exc:
                for message in exc.normalized_messages().items():
                    print(f"error: {message}", file=sys.stderr)
                return 1
        counts = {kind: sum(1 for name in contents if name.startswith(kind + "/")) for kind in ("datasets", "charts", "dashboards")}
        print(f"dashboards: provisioned {counts['dashboards']} dashboards, {counts['charts']} charts, {counts['datasets']} datasets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
