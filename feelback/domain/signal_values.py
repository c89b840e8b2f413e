"""Value rules: check a signal against its content set's rules and return the values to store.

``normalize_signal(rules, value=..., message=..., tags=..., contact_email=..., form_fields=...)`` returns a
``NormalizedSignal`` whose fields are the raw event's value columns, or raises ``SignalValueError`` whose
message names the field and the rule, e.g. ``value: rating must be an integer from 1 to 5 for content set "docs"``.
"""

from __future__ import annotations

import re
from typing import Any

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field

from feelback.domain.content_sets import ContentSetRules
from feelback.domain.signal_types import SignalType
from feelback.domain.type_configs import MessageConfig, ReactionConfig

MAX_CONTACT_EMAIL_LENGTH = 254


class SignalValueError(ValueError):
    """A signal's value breaks its content set's rules; ``str()`` names the field and the rule."""

    def __init__(self, field: str, rule: str, content_set: str):
        self.field = field
        self.rule = rule
        self.content_set = content_set
        super().__init__(f'{field}: {rule} for content set "{content_set}"')


class NormalizedSignal(BaseModel):
    """A signal's value as stored: one attribute per value column of ``raw.feedback_events``."""

    model_config = ConfigDict(frozen=True)

    signal_type: SignalType
    value: int | None = None
    rating_scale: int = 0
    reaction: str = ""
    message: str = ""
    tags: tuple[str, ...] = ()
    contact_email: str = ""
    form_fields: dict[str, str] = Field(default_factory=dict)


_YES = {"yes", "true", "y", "1"}
_NO = {"no", "false", "n", "-1"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def normalize_yesno(value: Any, set_key: str) -> int:
    """true/"yes"/1 → 1, false/"no"/-1 → -1."""
    if isinstance(value, bool):
        return 1 if value else -1
    if _is_int(value) and value in (1, -1):
        return value
    if isinstance(value, str) and value.strip().lower() in _YES | _NO:
        return 1 if value.strip().lower() in _YES else -1
    raise SignalValueError("value", 'yes/no must be true, false, "yes" or "no"', set_key)


def normalize_updown(value: Any, set_key: str) -> int:
    """"up"/1 → 1, "down"/-1 → -1."""
    if _is_int(value) and value in (1, -1):
        return value
    if isinstance(value, str) and value.strip().lower() in ("up", "down", "1", "-1"):
        return 1 if value.strip().lower() in ("up", "1") else -1
    raise SignalValueError("value", 'up/down must be "up", "down", 1 or -1', set_key)


def normalize_rating(value: Any, scale: int, set_key: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,2}\s*", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if _is_int(value) and 1 <= value <= scale:
        return value
    raise SignalValueError("value", f"rating must be an integer from 1 to {scale}", set_key)


def normalize_like(value: Any, set_key: str) -> int:
    """A like has one value: 1 (also given as true, or no value at all)."""
    if value is None or value is True or (_is_int(value) and value == 1):
        return 1
    raise SignalValueError("value", "like must be 1 or true (a like is revoked, not set to 0)", set_key)


def normalize_reaction(value: Any, config: ReactionConfig, set_key: str) -> str:
    """The reaction's key; the emoji itself is accepted too."""
    if isinstance(value, str):
        for reaction in config.reactions:
            if value in (reaction.key, reaction.emoji):
                return reaction.key
    keys = ", ".join(reaction.key for reaction in config.reactions)
    raise SignalValueError("value", f"reaction must be one of: {keys}", set_key)


def normalize_email(value: Any, field: str, set_key: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str) and len(value) <= MAX_CONTACT_EMAIL_LENGTH:
        try:
            return validate_email(value.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            pass
    raise SignalValueError(field, "must be an e-mail address like name@example.com", set_key)


def normalize_message(
    config: MessageConfig,
    set_key: str,
    message: Any,
    tags: Any = None,
    contact_email: Any = None,
    form_fields: Any = None,
) -> NormalizedSignal:
    if not isinstance(message, str) or not message.strip():
        raise SignalValueError("message", "message must be non-empty text", set_key)
    text = message.strip()
    if len(text) > config.max_length:
        raise SignalValueError("message", f"message must be at most {config.max_length} characters", set_key)

    tags = [] if tags is None else tags
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise SignalValueError("tags", "tags must be a list of strings", set_key)
    unknown = [tag for tag in tags if tag not in config.tags]
    if unknown:
        allowed = ", ".join(config.tags) or "(no tags are configured)"
        raise SignalValueError("tags", f"tag {unknown[0]!r} is not allowed; allowed tags: {allowed}", set_key)

    form_fields = {} if form_fields is None else form_fields
    if not isinstance(form_fields, dict):
        raise SignalValueError("form_fields", "form fields must be an object of name to text", set_key)
    declared = {field.name: field for field in config.form_fields}
    stored: dict[str, str] = {}
    for name, text_value in form_fields.items():
        field = declared.get(name)
        if field is None:
            allowed = ", ".join(declared) or "(no form fields are configured)"
            raise SignalValueError(f"form_fields.{name}", f"unknown form field; configured fields: {allowed}", set_key)
        if text_value is None or text_value == "":
            continue
        if not isinstance(text_value, (str, int, float)) or isinstance(text_value, bool):
            raise SignalValueError(f"form_fields.{name}", "must be text", set_key)
        text_value = str(text_value).strip()
        if len(text_value) > field.max_length:
            raise SignalValueError(f"form_fields.{name}", f"must be at most {field.max_length} characters", set_key)
        if text_value:
            stored[name] = text_value
    for field in config.form_fields:
        if field.required and field.name not in stored:
            raise SignalValueError(f"form_fields.{field.name}", "is required", set_key)

    return NormalizedSignal(
        signal_type=SignalType.message,
        message=text,
        tags=tuple(dict.fromkeys(tags)),
        contact_email=normalize_email(contact_email, "contact_email", set_key),
        form_fields=stored,
    )


def normalize_signal(
    rules: ContentSetRules,
    value: Any = None,
    *,
    message: Any = None,
    tags: Any = None,
    contact_email: Any = None,
    form_fields: Any = None,
) -> NormalizedSignal:
    """Check a signal against its content set's rules and return the values to store.

    ``value`` carries the vote, rating, like or reaction key; message signals use ``message``
    (or a string ``value``), ``tags``, ``contact_email`` and ``form_fields``.
    Fields of other types must be absent.
    """
    kind, key, config = rules.signal_type, rules.key, rules.config
    if kind is not SignalType.message:
        extras = {"message": message, "tags": tags, "contact_email": contact_email, "form_fields": form_fields}
        for name, given in extras.items():
            if given not in (None, "", [], (), {}):
                raise SignalValueError(name, f"only message signals take {name}, this set collects {kind} signals", key)
    if kind is SignalType.yesno:
        return NormalizedSignal(signal_type=kind, value=normalize_yesno(value, key))
    if kind is SignalType.updown:
        return NormalizedSignal(signal_type=kind, value=normalize_updown(value, key))
    if kind is SignalType.rating:
        scale = rules.rating_scale
        return NormalizedSignal(signal_type=kind, value=normalize_rating(value, scale, key), rating_scale=scale)
    if kind is SignalType.like:
        return NormalizedSignal(signal_type=kind, value=normalize_like(value, key))
    if kind is SignalType.reaction:
        assert isinstance(config, ReactionConfig)
        return NormalizedSignal(signal_type=kind, reaction=normalize_reaction(value, config, key))
    assert isinstance(config, MessageConfig)
    if message is None and isinstance(value, str):
        message, value = value, None
    if value is not None:
        raise SignalValueError("value", "message signals take their text in message, not value", key)
    return normalize_message(config, key, message, tags, contact_email, form_fields)
