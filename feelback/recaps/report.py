"""What one recap says, as plain data read from the marts (``queries``) and shown by ``render``.

Sentiment is the marts' per-signal score from -1 (negative) to +1 (positive), averaged over scored
signals; labels use VADER's thresholds (>= 0.05 positive, <= -0.05 negative), as the marts do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from feelback.recaps.periods import Period


def change_percent(current: float, previous: float) -> float | None:
    """Relative change in percent; None when there is nothing to compare with."""
    if not previous:
        return None
    return (current - previous) / previous * 100.0


@dataclass(frozen=True)
class SetTotal:
    content_set: str
    signal_type: str
    signals: int
    previous_signals: int
    sentiment: float | None
    previous_sentiment: float | None

    @property
    def change(self) -> float | None:
        return change_percent(self.signals, self.previous_signals)


@dataclass(frozen=True)
class ContentLine:
    content_set: str
    content_key: str
    signals: int
    sentiment: float
    previous_sentiment: float | None

    @property
    def movement(self) -> float | None:
        return None if self.previous_sentiment is None else self.sentiment - self.previous_sentiment


@dataclass(frozen=True)
class FeedbackLine:
    received_at: dt.datetime
    content_set: str
    content_key: str
    message: str
    sentiment: float | None  # None until the message is scored

    @property
    def mood(self) -> str:
        if self.sentiment is None:
            return "unscored"
        if self.sentiment >= 0.05:
            return "positive"
        if self.sentiment <= -0.05:
            return "negative"
        return "neutral"


@dataclass(frozen=True)
class DailyPoint:
    day: dt.date
    positive: int
    neutral: int
    negative: int
    unscored: int = 0  # messages not scored yet

    @property
    def signals(self) -> int:
        return self.positive + self.neutral + self.negative + self.unscored


@dataclass(frozen=True)
class RecapReport:
    project_id: str
    project_name: str
    timezone: str
    period: Period
    totals: list[SetTotal]
    top: list[ContentLine]
    bottom: list[ContentLine]
    movers: list[ContentLine]
    feedback: list[FeedbackLine]
    daily: list[DailyPoint]

    @property
    def signals(self) -> int:
        return sum(total.signals for total in self.totals)

    @property
    def previous_signals(self) -> int:
        return sum(total.previous_signals for total in self.totals)

    @property
    def change(self) -> float | None:
        return change_percent(self.signals, self.previous_signals)
