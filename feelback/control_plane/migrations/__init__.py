"""Alembic migrations of the control-plane DB; ``upgrade_control_plane(settings)`` applies them."""

from feelback.control_plane.db import upgrade_control_plane

__all__ = ["upgrade_control_plane"]
