"""Recap periods: an ISO week or a calendar month, read in the project's own timezone.

A period is named by its first local day (the Dagster partition key, e.g. ``2025-03-03`` for the week
starting Monday 3 March), so one partition covers every project although each sees its own local
boundaries. ``due_at`` is when a recap of the period may go out: Monday (or the 1st) at ``SEND_HOUR``
local time after the period ended.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from feelback.control_plane.models import RecapFrequency

SEND_HOUR = 7


@dataclass(frozen=True)
class Period:
    kind: RecapFrequency
    start: dt.date  # first local day
    end: dt.date  # first local day after the period

    @classmethod
    def containing(cls, kind: RecapFrequency | str, day: dt.date) -> Period:
        kind = RecapFrequency(kind)
        if kind is RecapFrequency.weekly:
            start = day - dt.timedelta(days=day.weekday())
            return cls(kind, start, start + dt.timedelta(days=7))
        start = day.replace(day=1)
        return cls(kind, start, (start + dt.timedelta(days=32)).replace(day=1))

    @classmethod
    def from_key(cls, kind: RecapFrequency | str, key: str) -> Period:
        """The period a partition key names; the key must be the period's first day."""
        day = dt.date.fromisoformat(key)
        period = cls.containing(kind, day)
        if period.start != day:
            raise ValueError(f"partition key {key!r} is not the first day of a {RecapFrequency(kind).value} period")
        return period

    @property
    def key(self) -> str:
        return self.start.isoformat()

    @property
    def previous(self) -> Period:
        return Period.containing(self.kind, self.start - dt.timedelta(days=1))

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days)]

    @property
    def label(self) -> str:
        if self.kind is RecapFrequency.weekly:
            year, week, _ = self.start.isocalendar()
            last = self.end - dt.timedelta(days=1)
            return f"Week {week}, {year} ({self.start:%d %b} – {last:%d %b})"
        return f"{self.start:%B %Y}"

    def bounds_utc(self, timezone: str) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) of the period as UTC instants, local midnights in ``timezone``."""
        zone = ZoneInfo(timezone)
        return tuple(
            dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC) for day in (self.start, self.end)
        )  # type: ignore[return-value]

    def due_at(self, timezone: str) -> dt.datetime:
        return dt.datetime.combine(self.end, dt.time(SEND_HOUR), ZoneInfo(timezone)).astimezone(dt.UTC)


def last_complete_period(kind: RecapFrequency | str, timezone: str, now: dt.datetime) -> Period:
    """The newest period that ended before ``now`` in ``timezone`` (whether or not it is due yet)."""
    local_today = now.astimezone(ZoneInfo(timezone)).date()
    return Period.containing(kind, local_today).previous
