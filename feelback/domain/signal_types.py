"""The kinds of signal and of event: string enums whose ``.code`` is their Enum8 code in ``raw.feedback_events``."""

from __future__ import annotations

from enum import StrEnum


class SignalType(StrEnum):
    yesno = "yesno"
    updown = "updown"
    rating = "rating"
    like = "like"
    reaction = "reaction"
    message = "message"

    @property
    def code(self) -> int:
        """The Enum8 code of this type in ``raw.feedback_events.signal_type``."""
        return _SIGNAL_TYPE_CODES[self]


_SIGNAL_TYPE_CODES = {
    SignalType.yesno: 1,
    SignalType.updown: 2,
    SignalType.rating: 3,
    SignalType.like: 4,
    SignalType.reaction: 5,
    SignalType.message: 6,
}


class Operation(StrEnum):
    create = "create"
    edit = "edit"
    revoke = "revoke"

    @property
    def code(self) -> int:
        """The Enum8 code of this operation in ``raw.feedback_events.operation``."""
        return {Operation.create: 1, Operation.edit: 2, Operation.revoke: 3}[self]
