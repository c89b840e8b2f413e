"""The demo project: one content set per widget type, so a newcomer sees every widget working.

``ensure_demo(settings)`` is idempotent (``feelback up`` and ``feelback demo`` call it): it creates
the project once, adds any missing set, and keeps the project's id and public key in
``<home>/demo.json`` (public keys are public: they sit in every page that embeds a widget). The API
serves the page at ``/demo/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import ContentSet, Project
from feelback.control_plane.projects import create_project
from feelback.domain import default_one_per_visitor
from feelback.settings import Settings

DEMO_PATH = "/demo/"
# key: (widget element, signal type, config)
DEMO_SETS = {
    "demo-yesno": ("feelback-yesno", "yesno", {}),
    "demo-updown": ("feelback-updown", "updown", {}),
    "demo-rating": ("feelback-rating", "rating", {"scale": 5}),
    "demo-like": ("feelback-like", "like", {}),
    "demo-reactions": ("feelback-reactions", "reaction", {}),
    "demo-form": (
        "feelback-form", "message",
        {"tags": ["idea", "bug", "praise"], "form_fields": [{"name": "page", "label": "Which page?", "max_length": 200}]},
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Demo:
    project_id: str
    public_key: str


def demo_file(settings: Settings) -> Path:
    return settings.home / "demo.json"


def read_demo(settings: Settings) -> Demo | None:
    try:
        data = json.loads(demo_file(settings).read_text())
        return Demo(data["project_id"], data["public_key"])
    except (OSError, ValueError, KeyError):
        return None


def ensure_demo(settings: Settings) -> Demo:
    """The demo project with all its sets (made now if missing); the control-plane DB must be migrated."""
    demo = read_demo(settings)
    with session_scope(settings) as session:
        if demo is None or session.get(Project, demo.project_id) is None:
            created = create_project(session, "Feelback demo")
            demo = Demo(created.project.id, created.public_key)
        have = set(session.scalars(select(ContentSet.key).where(ContentSet.project_id == demo.project_id)))
        for key, (_, signal_type, config) in DEMO_SETS.items():
            if key not in have:
                session.add(ContentSet(
                    project_id=demo.project_id, key=key, name=key, signal_type=signal_type, config=config,
                    one_per_visitor=default_one_per_visitor(signal_type),
                ))  # fmt: skip
    path = demo_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"project_id": demo.project_id, "public_key": demo.public_key}) + "\n")
    return demo
