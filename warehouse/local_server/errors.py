"""ClickHouse exceptions as the engine reports them, re-emitted in ClickHouse's own wire formats."""

from __future__ import annotations

import re

_CODE_PREFIX = re.compile(r"^(?:Code: (\d+)\. DB::Exception: )+", re.S)
_ERROR_NAME = re.compile(r"\(([A-Z_]+)\)(?: \(version [^)]*\))?\s*$")

# Codes this front raises itself, with ClickHouse's own names for them.
UNKNOWN_EXCEPTION = 1002
AUTHENTICATION_FAILED = 516
SESSION_NOT_FOUND = 372
SESSION_IS_LOCKED = 373
UNKNOWN_FORMAT = 73
SYNTAX_ERROR = 62
UNKNOWN_PACKET_FROM_CLIENT = 101
CANNOT_DECOMPRESS = 271
NOT_IMPLEMENTED = 48
TOO_LARGE_SIZE_COMPRESSED = 39
INCORRECT_DATA = 117
TOO_LARGE_STRING_SIZE = 131
TIMEOUT_EXCEEDED = 159
CORRUPTED_DATA = 246
ERROR_NAMES = {
    AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED",
    SESSION_NOT_FOUND: "SESSION_NOT_FOUND",
    SESSION_IS_LOCKED: "SESSION_IS_LOCKED",
    UNKNOWN_FORMAT: "UNKNOWN_FORMAT",
    SYNTAX_ERROR: "SYNTAX_ERROR",
    UNKNOWN_PACKET_FROM_CLIENT: "UNKNOWN_PACKET_FROM_CLIENT",
    CANNOT_DECOMPRESS: "CANNOT_DECOMPRESS",
    NOT_IMPLEMENTED: "NOT_IMPLEMENTED",
    UNKNOWN_EXCEPTION: "UNKNOWN_EXCEPTION",
    TOO_LARGE_SIZE_COMPRESSED: "TOO_LARGE_SIZE_COMPRESSED",
    INCORRECT_DATA: "INCORRECT_DATA",
    TOO_LARGE_STRING_SIZE: "TOO_LARGE_STRING_SIZE",
    TIMEOUT_EXCEEDED: "TIMEOUT_EXCEEDED",
    CORRUPTED_DATA: "CORRUPTED_DATA",
}


class ClickHouseError(Exception):
    """An exception with ClickHouse's code and message (without the ``Code: N. DB::Exception:`` prefix)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def raised(cls, code: int, message: str) -> "ClickHouseError":
        """An error this front raises itself, worded like the server's."""
        return cls(code, f"{message}. ({ERROR_NAMES.get(code, 'UNKNOWN_EXCEPTION')})")

    @classmethod
    def from_engine(cls, exc: BaseException) -> "ClickHouseError":
        if isinstance(exc, ClickHouseError):
            return exc
        text = str(exc)
        # chDB wraps streaming failures in a sentence of its own before the engine's text.
        start = text.find("Code: ")
        if start > 0:
            text = text[start:]
        match = _CODE_PREFIX.match(text)
        if not match:
            return cls(UNKNOWN_EXCEPTION, f"{text}. (UNKNOWN_EXCEPTION)")
        return cls(int(match.group(1)), text[match.end():].strip())

    @property
    def name(self) -> str:
        match = _ERROR_NAME.search(self.message)
        return match.group(1) if match else "UNKNOWN_EXCEPTION"

    def http_text(self, version: str) -> str:
        message = self.message if "(version " in self.message else f"{self.message} (version {version})"
        return f"Code: {self.code}. DB::Exception: {message}\n"
