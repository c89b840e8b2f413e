"""Rules for short keys and single-line text: what may reach a URL, SQL, a mail header, a file name or a log line."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

KEY_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,39}$"
KEY_RULE = "1 to 40 lowercase letters, digits, '_' or '-', starting with a letter or digit"


def check_key(value: str) -> str:
    """Keys of content sets, reactions, tags and form fields: short, lowercase, URL- and SQL-safe."""
    if not re.fullmatch(KEY_PATTERN, value):
        raise ValueError(f"must be {KEY_RULE}")
    return value


Key = Annotated[str, AfterValidator(check_key)]

# C0 and C1 controls, DEL and Unicode's line and paragraph separators: what splits a mail header, a
# file name or a log line. Written as regex escapes, valid in Python and in JSON Schema patterns.
CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_CONTROL_RUNS = re.compile(f"[{CONTROL_CHARACTERS}]+")
SINGLE_LINE_RULE = "must not contain control characters (line breaks, tabs and the like)"


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None


def check_single_line(text: str) -> str:
    """Names and labels that may reach a mail header, a file name or a log line: no control characters."""
    if has_control_characters(text):
        raise ValueError(SINGLE_LINE_RULE)
    return text


def one_line(text: str) -> str:
    """``text`` with each run of control characters made one space: for a header built from a value
    stored before ``check_single_line`` guarded it."""
    return _CONTROL_RUNS.sub(" ", text).strip()
