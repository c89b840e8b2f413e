"""Project rules: retention, time zone and the origins allowed to use a project's public key."""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feelback.domain.text_rules import has_control_characters

MIN_RETENTION_DAYS = 1
DEFAULT_RETENTION_DAYS = 730
DEFAULT_TIMEZONE = "UTC"


def normalize_timezone(name: str) -> str:
    """The IANA time-zone name itself; raises ValueError naming it when unknown."""
    if not isinstance(name, str) or not name.strip() or name.strip() != name or "\\" in name:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name like Europe/Paris or UTC")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name like Europe/Paris or UTC") from None
    return name


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case; ``https://*.example.com`` allows every subdomain.

    Raises ValueError naming the origin when it has a path, query, credentials or no host.
    """
    problem = f"origin {origin!r} must look like https://example.com or https://*.example.com (scheme and host, no path)"
    if not isinstance(origin, str):
        raise ValueError(problem)
    value = origin.strip().rstrip("/").lower()
    if has_control_characters(value):  # urlsplit would quietly drop tabs and line breaks, keeping them in value
        raise ValueError(problem)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query or parts.fragment:
        raise ValueError(problem)
    if "@" in parts.netloc:
        raise ValueError(problem)
    host = parts.netloc.removeprefix("*.")
    if not re.fullmatch(r"[a-z0-9.\-\[\]:]+", host) or "*" in host:
        raise ValueError(problem)
    try:
        parts.port
    except ValueError:
        raise ValueError(problem) from None
    return value


def origin_allowed(origin: str, allowed_origins: list[str] | tuple[str, ...]) -> bool:
    """Whether a browser ``Origin`` may use a project's public key; an empty allow-list allows every origin."""
    if not allowed_origins:
        return True
    origin = origin.strip().rstrip("/").lower()
    scheme, _, host = origin.partition("://")
    for allowed in allowed_origins:
        if allowed == origin:
            return True
        allowed_scheme, _, allowed_host = allowed.partition("://")
        if allowed_host.startswith("*.") and scheme == allowed_scheme and host.endswith(allowed_host[1:]):
            return True
    return False
