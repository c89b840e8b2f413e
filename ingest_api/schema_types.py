"""Validated value types shared by every route's parameters and bodies, so an edge case is refused
in one place with a 422 naming the field and the rule, never reaching a store as a 5xx.

- ``Instant`` / ``AwareInstant``: a moment whose year is one ClickHouse's ``DateTime64`` holds (1900
  to 2299), converted to UTC, which no offset can then overflow; naive ones are read as UTC
  (``AwareInstant`` refuses them).
- ``RowId``: a control-plane row id, 1 to 2**31-1 (its integer columns on PostgreSQL; past 2**63
  SQLite overflows); ``UnixSeconds``: 0 to 2**63-1.
- ``SingleLine``: text without control characters (line breaks, tabs, NUL, DEL, C1, Unicode line and
  paragraph separators), for anything that may reach a mail header, a file name or a log line.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from annotated_types import Interval
from pydantic import AfterValidator, AwareDatetime, Field

from feelback.domain import CONTROL_CHARACTERS, check_single_line

FIRST_YEAR, LAST_YEAR = 1900, 2299  # ClickHouse DateTime64's range
INSTANT_RULE = f"must be a date-time with a year from {FIRST_YEAR} to {LAST_YEAR}"
# The same rule for clients and fuzzers, on the year as written (any UTC offset then stays in range).
INSTANT_PATTERN = r"^(19\d\d|2[0-2]\d\d)-"
MAX_ROW_ID = 2**31 - 1  # the control plane's integer ids (PostgreSQL integer columns)
MAX_UNIX_SECONDS = 2**63 - 1

SINGLE_LINE_PATTERN = f"^[^{CONTROL_CHARACTERS}]*$"


def to_instant(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC (naive read as UTC); ValueError when its year is outside what the warehouse holds."""
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(INSTANT_RULE)
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


_DOCUMENTED = Field(json_schema_extra={"pattern": INSTANT_PATTERN})
Instant = Annotated[dt.datetime, AfterValidator(to_instant), _DOCUMENTED]
AwareInstant = Annotated[AwareDatetime, AfterValidator(to_instant), _DOCUMENTED]
RowId = Annotated[int, Interval(ge=1, le=MAX_ROW_ID)]
UnixSeconds = Annotated[int, Interval(ge=0, le=MAX_UNIX_SECONDS)]
SingleLine = Annotated[str, AfterValidator(check_single_line), Field(json_schema_extra={"pattern": SINGLE_LINE_PATTERN})]
