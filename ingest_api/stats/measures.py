"""The additive measures of the marts (see dbt_project/macros/measures.sql), in Python.

Every aggregate of the marts carries the same sums, so a window is the sum of its rows and a live
delta is added (or, for a signal that changed, subtracted) the same way. Averages are derived
from the sums at the end, exactly as the marts derive ``value_avg`` and ``sentiment_score``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from feelback.domain import DEFAULT_REACTIONS, ContentSetRules, ReactionConfig, SignalType

# Column names of the measures in every agg_* mart, in this order.
MEASURE_COLUMNS = (
    "signals",
    "value_counts",
    "valued_signals",
    "value_sum",
    "positive_signals",
    "neutral_signals",
    "negative_signals",
    "scored_signals",
    "sentiment_sum",
)

# VADER's thresholds, used by fct_signals.sentiment_label for every type.
POSITIVE_FROM = 0.05
NEGATIVE_FROM = -0.05


class SentimentLabel(StrEnum):
    positive = "positive"
    neutral = "neutral"
    negative = "negative"


def sentiment_label(score: float | None) -> SentimentLabel | None:
    """The bucket of a sentiment on [-1, 1] (VADER's thresholds above); None for no score."""
    if score is None:
        return None
    if score >= POSITIVE_FROM:
        return SentimentLabel.positive
    return SentimentLabel.negative if score <= NEGATIVE_FROM else SentimentLabel.neutral


def sentiment_condition(label: SentimentLabel, column: str) -> tuple[str, dict[str, float]]:
    """SQL that holds when the score ``column`` falls in ``label``'s bucket, and its bound parameters."""
    parameters = {"positive_from": POSITIVE_FROM, "negative_from": NEGATIVE_FROM}
    sql = {
        SentimentLabel.positive: f"{column} >= {{positive_from:Float64}}",
        SentimentLabel.negative: f"{column} <= {{negative_from:Float64}}",
        SentimentLabel.neutral: f"{column} > {{negative_from:Float64}} AND {column} < {{positive_from:Float64}}",
    }[label]
    return sql, parameters


@dataclass
class Measures:
    signals: int = 0
    value_counts: dict[str, int] = field(default_factory=dict)
    valued_signals: int = 0
    value_sum: int = 0
    positive_signals: int = 0
    neutral_signals: int = 0
    negative_signals: int = 0
    scored_signals: int = 0
    sentiment_sum: float = 0.0

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Measures:
        return cls(
            signals=int(row["signals"]),
            value_counts={key: int(count) for key, count in (row["value_counts"] or {}).items()},
            valued_signals=int(row["valued_signals"]),
            value_sum=int(row["value_sum"]),
            positive_signals=int(row["positive_signals"]),
            neutral_signals=int(row["neutral_signals"]),
            negative_signals=int(row["negative_signals"]),
            scored_signals=int(row["scored_signals"]),
            sentiment_sum=float(row["sentiment_sum"]),
        )

    @classmethod
    def of_signal(cls, value_key: str, value: int | None, sentiment: float | None) -> Measures:
        """One live signal, as fct_signals counts it."""
        return cls(
            signals=1,
            value_counts={value_key: 1} if value_key else {},
            valued_signals=int(value is not None),
            value_sum=value or 0,
            positive_signals=int(sentiment_label(sentiment) is SentimentLabel.positive),
            neutral_signals=int(sentiment_label(sentiment) is SentimentLabel.neutral),
            negative_signals=int(sentiment_label(sentiment) is SentimentLabel.negative),
            scored_signals=int(sentiment is not None),
            sentiment_sum=sentiment or 0.0,
        )

    def add(self, other: Measures, sign: int = 1) -> Measures:
        """Add ``other`` (``sign=-1``: subtract it) in place; returns self."""
        self.signals += sign * other.signals
        for key, count in other.value_counts.items():
            self.value_counts[key] = self.value_counts.get(key, 0) + sign * count
        self.valued_signals += sign * other.valued_signals
        self.value_sum += sign * other.value_sum
        self.positive_signals += sign * other.positive_signals
        self.neutral_signals += sign * other.neutral_signals
        self.negative_signals += sign * other.negative_signals
        self.scored_signals += sign * other.scored_signals
        self.sentiment_sum += sign * other.sentiment_sum
        return self

    def copy(self) -> Measures:
        return Measures().add(self)

    @property
    def value_avg(self) -> float | None:
        return self.value_sum / self.valued_signals if self.valued_signals else None

    @property
    def sentiment_score(self) -> float | None:
        # Clamped: float error on sums of ±1 could step a hair outside [-1, 1].
        return max(-1.0, min(1.0, self.sentiment_sum / self.scored_signals)) if self.scored_signals else None


def total(parts: Any) -> Measures:
    result = Measures()
    for part in parts:
        result.add(part)
    return result


# --- one signal's value, as fct_signals derives it ----------------------------------------------


def float32(number: float) -> float:
    """``number`` rounded as ClickHouse's toFloat32 stores it (fct_signals.sentiment is Float32)."""
    return struct.unpack("f", struct.pack("f", number))[0]


def value_key(signal_type: str, value: int | None, reaction: str) -> str:
    """The key a signal's value is counted under in ``value_counts``."""
    if signal_type == "yesno":
        return "yes" if value == 1 else "no"
    if signal_type == "updown":
        return "up" if value == 1 else "down"
    if signal_type == "rating":
        return str(value)
    if signal_type == "like":
        return "like"
    if signal_type == "reaction":
        return reaction
    return ""


def sentiment(rules: ContentSetRules, signal_type: str, value: int | None, rating_scale: int, reaction: str) -> float | None:
    """A signal's sentiment on [-1, 1] by fct_signals' rule; None for messages (scored by the pipeline)."""
    if signal_type in ("yesno", "updown", "like"):
        return None if value is None else float32(value)
    if signal_type == "rating":
        return float32((value - 1) / (rating_scale - 1) * 2 - 1) if value is not None and rating_scale > 1 else None
    if signal_type == "reaction":
        return float32(reaction_polarity(rules, reaction))
    return None


def reaction_polarity(rules: ContentSetRules, reaction: str) -> int:
    """The set's configured polarity, else the default reactions' (as int_reaction_polarity and fct_signals)."""
    configured = rules.config.reactions if isinstance(rules.config, ReactionConfig) else ()
    for candidates in (configured, DEFAULT_REACTIONS):
        for known in candidates:
            if known.key == reaction:
                return known.polarity
    return 0


def value_keys(rules: ContentSetRules) -> list[str]:
    """Every value a widget of this set shows, so counts include zeros."""
    if rules.signal_type is SignalType.yesno:
        return ["yes", "no"]
    if rules.signal_type is SignalType.updown:
        return ["up", "down"]
    if rules.signal_type is SignalType.rating:
        return [str(point) for point in range(1, rules.rating_scale + 1)]
    if rules.signal_type is SignalType.like:
        return ["like"]
    if rules.signal_type is SignalType.reaction:
        return [reaction.key for reaction in rules.config.reactions]
    return []
