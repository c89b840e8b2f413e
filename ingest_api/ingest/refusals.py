"""Refusals: an operation that is not stored, and the answer that says why."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from feelback.domain import SignalValueError
from ingest_api.errors import validation_message
from ingest_api.ratelimit import retry_after_header
from ingest_api.spool import SpoolFull


class Refusal(Exception):
    """An operation that is not stored; rendered as ``{"error": {"code", "message", ...}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers, extra

    @property
    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def rate_limited(seconds: float, whose: str) -> Refusal:
    after = retry_after_header(seconds)
    return Refusal(
        429, "rate_limited", f"too many signals from this {whose}; retry after {after} s",
        headers={"Retry-After": after}, retry_after=int(after),
    )  # fmt: skip


def invalid(exc: ValidationError | SignalValueError) -> Refusal:
    if isinstance(exc, SignalValueError):
        return Refusal(422, "invalid_signal", str(exc))
    return Refusal(422, "invalid_request", validation_message(exc.errors()))


def spool_refusal(exc: Exception) -> Refusal:
    if isinstance(exc, SpoolFull):
        after = retry_after_header(exc.retry_after)
        return Refusal(503, "ingest_backlog_full", f"{exc}; retry after {after} s", headers={"Retry-After": after})
    return Refusal(503, "ingest_unavailable", "the signal could not be stored; retry later", headers={"Retry-After": "5"})
