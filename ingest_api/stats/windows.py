"""Stats windows resolved to calendar days in the project's time zone.

Rolling windows (``7d``, ``30d``, ``90d``) end today and include today; calendar windows
(``week``, ``month``, ``year``) are the current ISO week (from Monday), month and year; ``all``
has no start. A signal counts on the day it was created, as in the marts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo


class Window(StrEnum):
    days_7 = "7d"
    days_30 = "30d"
    days_90 = "90d"
    all = "all"
    week = "week"
    month = "month"
    year = "year"


ROLLING_DAYS = {Window.days_7: 7, Window.days_30: 30, Window.days_90: 90}


@dataclass(frozen=True)
class WindowBounds:
    window: Window
    timezone: str
    today: dt.date
    start: dt.date | None  # first day counted; None for ``all``
    end: dt.date  # last day counted (inclusive); for calendar windows the period's last day

    @property
    def rolling_days(self) -> int | None:
        return ROLLING_DAYS.get(self.window)

    @property
    def period(self) -> str | None:
        """The ``period`` of agg_*_period holding this window, for calendar windows and ``all``."""
        return None if self.window in ROLLING_DAYS else self.window.value

    @property
    def period_start(self) -> dt.date:
        return self.start or dt.date(1970, 1, 1)

    def contains(self, day: dt.date) -> bool:
        return (self.start is None or day >= self.start) and day <= self.end

    def as_json(self) -> dict[str, str | None]:
        return {
            "name": self.window.value,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat(),
            "timezone": self.timezone,
        }


def local_today(timezone: str, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(timezone or "UTC")).date()


def resolve(window: Window, timezone: str, now: dt.datetime) -> WindowBounds:
    """The days ``window`` covers at ``now`` (aware) in ``timezone`` (IANA name; empty means UTC)."""
    timezone = timezone or "UTC"
    today = local_today(timezone, now)
    if window in ROLLING_DAYS:
        start, end = today - dt.timedelta(days=ROLLING_DAYS[window] - 1), today
    elif window is Window.week:
        start = today - dt.timedelta(days=today.weekday())
        end = start + dt.timedelta(days=6)
    elif window is Window.month:
        start = today.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    elif window is Window.year:
        start, end = today.replace(month=1, day=1), today.replace(month=12, day=31)
    else:
        start, end = None, today
    return WindowBounds(window=window, timezone=timezone, today=today, start=start, end=end)
