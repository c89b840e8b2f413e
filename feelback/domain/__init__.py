"""The domain vocabulary: signal types, per-type configuration, content-set rules and value rules.

This package's names are the core's public API (for ingest_api, the management API, pipelines and, through
the replicated config, dbt): import them from ``feelback.domain``; the submodules are how it is organised.

- ``signal_types``: ``SignalType`` / ``Operation``, string enums whose ``.code`` equals the Enum8 codes of
  ``raw.feedback_events.signal_type`` / ``.operation``.
- ``text_rules``: keys (``Key``, ``check_key``) and single-line text (``check_single_line``, ``one_line``).
- ``type_configs``: per-type configuration models (pydantic, unknown keys refused): ``YesNoConfig``,
  ``UpDownConfig``, ``RatingConfig`` (scale 5, 7 or 10), ``LikeConfig``, ``ReactionConfig`` (reactions with
  polarity), ``MessageConfig`` (tags, extra form fields, max length). ``parse_type_config(signal_type, data)``
  picks the model for a type; ``default_type_config(signal_type)`` gives its defaults. ``DEFAULT_REACTIONS``
  and ``reaction_polarity(config, key)``: polarity -1/0/+1 of each reaction.
- ``content_sets``: ``ContentSetRules``, everything ingest needs about one content set (key, signal type,
  config, edit window, one per visitor, public stats). Build it from a stored row with
  ``ContentSetRules.model_validate(row, from_attributes=True)``.
- ``signal_values``: ``normalize_signal(rules, value=..., message=..., tags=..., contact_email=...,
  form_fields=...)`` returns a ``NormalizedSignal`` whose fields are the raw event's columns (value,
  rating_scale, reaction, message, tags, contact_email, form_fields), or raises ``SignalValueError`` whose
  message names the field and the rule, e.g. ``value: rating must be an integer from 1 to 5 for content set
  "docs"``. The per-type functions (``normalize_yesno`` …) are public too.
- ``project_rules``: ``normalize_timezone``, ``normalize_origin``, ``origin_allowed``, ``MIN_RETENTION_DAYS``.
"""

from feelback.domain.content_sets import (
    CONTENT_SET_KEY_PATTERN,
    CONTENT_SET_KEY_RULE,
    DEFAULT_EDIT_WINDOW_SECONDS,
    MAX_EDIT_WINDOW_SECONDS,
    ContentSetRules,
    default_one_per_visitor,
)
from feelback.domain.project_rules import (
    DEFAULT_RETENTION_DAYS,
    DEFAULT_TIMEZONE,
    MIN_RETENTION_DAYS,
    normalize_origin,
    normalize_timezone,
    origin_allowed,
)
from feelback.domain.signal_types import Operation, SignalType
from feelback.domain.signal_values import (
    MAX_CONTACT_EMAIL_LENGTH,
    NormalizedSignal,
    SignalValueError,
    normalize_email,
    normalize_like,
    normalize_message,
    normalize_rating,
    normalize_reaction,
    normalize_signal,
    normalize_updown,
    normalize_yesno,
)
from feelback.domain.text_rules import CONTROL_CHARACTERS, SINGLE_LINE_RULE, Key, check_key, check_single_line, one_line
from feelback.domain.type_configs import (
    CONFIG_MODELS,
    DEFAULT_MESSAGE_MAX_LENGTH,
    DEFAULT_MESSAGE_TAGS,
    DEFAULT_RATING_SCALE,
    DEFAULT_REACTIONS,
    MAX_MESSAGE_MAX_LENGTH,
    MAX_REACTIONS,
    RATING_SCALES,
    FormField,
    LikeConfig,
    MessageConfig,
    Polarity,
    RatingConfig,
    Reaction,
    ReactionConfig,
    TypeConfig,
    UpDownConfig,
    YesNoConfig,
    default_type_config,
    parse_type_config,
    reaction_polarity,
)

__all__ = [
    "CONFIG_MODELS",
    "CONTENT_SET_KEY_PATTERN",
    "CONTENT_SET_KEY_RULE",
    "CONTROL_CHARACTERS",
    "DEFAULT_EDIT_WINDOW_SECONDS",
    "DEFAULT_MESSAGE_MAX_LENGTH",
    "DEFAULT_MESSAGE_TAGS",
    "DEFAULT_RATING_SCALE",
    "DEFAULT_REACTIONS",
    "DEFAULT_RETENTION_DAYS",
    "DEFAULT_TIMEZONE",
    "MAX_CONTACT_EMAIL_LENGTH",
    "MAX_EDIT_WINDOW_SECONDS",
    "MAX_MESSAGE_MAX_LENGTH",
    "MAX_REACTIONS",
    "MIN_RETENTION_DAYS",
    "RATING_SCALES",
    "SINGLE_LINE_RULE",
    "ContentSetRules",
    "FormField",
    "Key",
    "LikeConfig",
    "MessageConfig",
    "NormalizedSignal",
    "Operation",
    "Polarity",
    "RatingConfig",
    "Reaction",
    "ReactionConfig",
    "SignalType",
    "SignalValueError",
    "TypeConfig",
    "UpDownConfig",
    "YesNoConfig",
    "check_key",
    "check_single_line",
    "default_one_per_visitor",
    "default_type_config",
    "normalize_email",
    "normalize_like",
    "normalize_message",
    "normalize_origin",
    "normalize_rating",
    "normalize_reaction",
    "normalize_signal",
    "normalize_timezone",
    "normalize_updown",
    "normalize_yesno",
    "one_line",
    "origin_allowed",
    "parse_type_config",
    "reaction_polarity",
]
