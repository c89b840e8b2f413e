"""Structured logs (structlog), quiet by default: warnings and errors only unless FEELBACK_LOG_LEVEL says more.

No log line holds a raw IP address, at any level: ``NoRawIps`` (on every stdlib handler, and the
API's uvicorn handlers, access log included) and ``scrub_ips`` (a structlog processor) replace each
address by ``ip-`` and a keyed hash, the key random per process: lines of one process can still be
told apart by client, and no one can turn the hash back into the address. A dotted version number
that is also a valid IPv4 address is hashed too (the price of certainty), unless it follows
"ClickHouse " or "version ". ``feelback up`` relays every part's output through ``scrub_text``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import re

import structlog

NO_RAW_IPS_FILTER = {"()": "feelback.log.NoRawIps"}  # for logging.config.dictConfig

_KEY = os.urandom(16)
# Candidates only; each is checked with ipaddress before it is replaced.
# A dotted quad right after "ClickHouse " or "version " is ClickHouse's version (26.9.2.1), not an address.
_IPV4 = r"(?<![\d.])(?<!ClickHouse )(?<![Vv]ersion )(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)"
_IPV6 = r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:.])"
_CANDIDATE = re.compile(f"{_IPV6}|{_IPV4}")


def _hashed(match: re.Match) -> str:
    text = match.group(0)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return text
    return "ip-" + hmac.new(_KEY, text.encode(), hashlib.sha256).hexdigest()[:12]


def scrub_text(text: str) -> str:
    """``text`` with every IP address replaced by its keyed hash."""
    if "." not in text and ":" not in text:
        return text
    return _CANDIDATE.sub(_hashed, text)


def _scrub(value: object) -> object:
    return scrub_text(value) if isinstance(value, str) else value


class NoRawIps(logging.Filter):
    """Rewrites a record's message and arguments so that no IP address reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_scrub(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _scrub(value) for key, value in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub_text(logging.Formatter().formatException(record.exc_info))
        return True


def scrub_ips(_logger: object, _method: str, event: dict) -> dict:
    """structlog processor: ``scrub_text`` on every string value (run after exceptions are formatted)."""
    return {key: _scrub(value) for key, value in event.items()}


def configure_logging(level: str = "warning") -> None:
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    logging.basicConfig(level=numeric, format="%(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, NoRawIps) for existing in handler.filters):
            handler.addFilter(NoRawIps())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrub_ips,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
