"""The domain vocabulary: signal types, per-type configuration, content-set rules and value rules.

Contract (used by ingest_api, the management API, pipelines and dbt through the replicated config):

- ``SignalType`` / ``Operation``: string enums whose ``.code`` equals the Enum8 codes of
  ``raw.feedback_events.signal_type`` / ``.operation``.
- Per-type configuration models (pydantic, unknown keys refused): ``YesNoConfig``, ``UpDownConfig``,
  ``RatingConfig`` (scale 5, 7 or 10), ``LikeConfig``, ``ReactionConfig`` (reactions with polarity),
  ``MessageConfig`` (tags, extra form fields, max length). ``parse_type_config(signal_type, data)``
  picks the model for a type; ``default_type_config(signal_type)`` gives its defaults.
- ``ContentSetRules``: everything ingest needs about one content set (key, signal type, config,
  edit window, one per visitor, public stats). Build it from a stored row with
  ``ContentSetRules.model_validate(row, from_attributes=True)``.
- ``normalize_signal(rules, value=..., message=..., tags=..., contact_email=..., form_fields=...)``
  returns a ``NormalizedSignal`` whose fields are the raw event's columns (value, rating_scale,
  reaction, message, tags, contact_email, form_fields), or raises ``SignalValueError`` whose message
  names the field and the rule, e.g. ``value: rating must be an integer from 1 to 5 for content set "docs"``.
  The per-type functions (``normalize_yesno`` …) are public too.
- ``DEFAULT_REACTIONS`` and ``reaction_polarity(config, key)``: polarity -1/0/+1 of each reaction.
- Project rules: ``normalize_timezone``, ``normalize_origin``, ``origin_allowed``, ``MIN_RETENTION_DAYS``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator


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


# --- per-type configuration -------------------------------------------------------------------

RATING_SCALES = (5, 7, 10)
DEFAULT_RATING_SCALE = 5
DEFAULT_MESSAGE_TAGS = ("idea", "bug", "other")
DEFAULT_MESSAGE_MAX_LENGTH = 5000
MAX_MESSAGE_MAX_LENGTH = 20000
MAX_EDIT_WINDOW_SECONDS = 30 * 86400
DEFAULT_EDIT_WINDOW_SECONDS = 3600
MAX_CONTACT_EMAIL_LENGTH = 254
MAX_REACTIONS = 50

Polarity = Literal[-1, 0, 1]
_KEY_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,39}$"
_KEY_RULE = "1 to 40 lowercase letters, digits, '_' or '-', starting with a letter or digit"


def check_key(value: str) -> str:
    """Keys of content sets, reactions, tags and form fields: short, lowercase, URL- and SQL-safe."""
    if not re.fullmatch(_KEY_PATTERN, value):
        raise ValueError(f"must be {_KEY_RULE}")
    return value


Key = Annotated[str, AfterValidator(check_key)]

# C0 and C1 controls, DEL and Unicode's line and paragraph separators: what splits a mail header, a
# file name or a log line. Written as regex escapes, valid in Python and in JSON Schema patterns.
CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_CONTROL_RUNS = re.compile(f"[{CONTROL_CHARACTERS}]+")
SINGLE_LINE_RULE = "must not contain control characters (line breaks, tabs and the like)"


def check_single_line(text: str) -> str:
    """Names and labels that may reach a mail header, a file name or a log line: no control characters."""
    if _CONTROL.search(text):
        raise ValueError(SINGLE_LINE_RULE)
    return text


def one_line(text: str) -> str:
    """``text`` with each run of control characters made one space: for a header built from a value
    stored before ``check_single_line`` guarded it."""
    return _CONTROL_RUNS.sub(" ", text).strip()


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reaction(_Config):
    key: Key
    emoji: Annotated[str, Field(min_length=1, max_length=16)]
    polarity: Polarity = 0


DEFAULT_REACTIONS: tuple[Reaction, ...] = (
    Reaction(key="thumbs_up", emoji="👍", polarity=1),
    Reaction(key="heart", emoji="❤️", polarity=1),
    Reaction(key="tada", emoji="🎉", polarity=1),
    Reaction(key="smile", emoji="😄", polarity=1),
    Reaction(key="confused", emoji="😕", polarity=-1),
    Reaction(key="thumbs_down", emoji="👎", polarity=-1),
    Reaction(key="cry", emoji="😢", polarity=-1),
    Reaction(key="rage", emoji="😡", polarity=-1),
    Reaction(key="eyes", emoji="👀", polarity=0),
    Reaction(key="thinking", emoji="🤔", polarity=0),
)


class YesNoConfig(_Config):
    pass


class UpDownConfig(_Config):
    pass


class LikeConfig(_Config):
    pass


class RatingConfig(_Config):
    scale: Literal[5, 7, 10] = DEFAULT_RATING_SCALE


class ReactionConfig(_Config):
    reactions: tuple[Reaction, ...] = DEFAULT_REACTIONS

    @field_validator("reactions")
    @classmethod
    def _unique(cls, reactions: tuple[Reaction, ...]) -> tuple[Reaction, ...]:
        # Checked here rather than with min/max_length, which also fire when an item is invalid.
        if not 1 <= len(reactions) <= MAX_REACTIONS:
            raise ValueError(f"must list from 1 to {MAX_REACTIONS} reactions")
        for attribute in ("key", "emoji"):
            seen: set[str] = set()
            for reaction in reactions:
                name = getattr(reaction, attribute)
                if name in seen:
                    raise ValueError(f"reaction {attribute} {name!r} appears more than once")
                seen.add(name)
        return reactions


class FormField(_Config):
    name: Key
    label: Annotated[str, Field(max_length=200)] = ""
    required: bool = False
    max_length: Annotated[int, Field(ge=1, le=2000)] = 500


class MessageConfig(_Config):
    tags: Annotated[tuple[Key, ...], Field(max_length=50)] = DEFAULT_MESSAGE_TAGS
    form_fields: Annotated[tuple[FormField, ...], Field(max_length=20)] = ()
    max_length: Annotated[int, Field(ge=1, le=MAX_MESSAGE_MAX_LENGTH)] = DEFAULT_MESSAGE_MAX_LENGTH

    @model_validator(mode="after")
    def _unique(self) -> MessageConfig:
        if len(set(self.tags)) != len(self.tags):
            raise ValueError("tags must not repeat")
        names = [field.name for field in self.form_fields]
        if len(set(names)) != len(names):
            raise ValueError("form field names must not repeat")
        return self


TypeConfig = YesNoConfig | UpDownConfig | RatingConfig | LikeConfig | ReactionConfig | MessageConfig

CONFIG_MODELS: dict[SignalType, type[TypeConfig]] = {
    SignalType.yesno: YesNoConfig,
    SignalType.updown: UpDownConfig,
    SignalType.rating: RatingConfig,
    SignalType.like: LikeConfig,
    SignalType.reaction: ReactionConfig,
    SignalType.message: MessageConfig,
}


def default_type_config(signal_type: SignalType | str) -> TypeConfig:
    return CONFIG_MODELS[SignalType(signal_type)]()


def parse_type_config(signal_type: SignalType | str, data: Any) -> TypeConfig:
    """The configuration model of ``signal_type`` from a dict (None = defaults); raises pydantic's ValidationError."""
    model = CONFIG_MODELS[SignalType(signal_type)]
    if isinstance(data, model):
        return data
    return model.model_validate(data or {})


def reaction_polarity(config: ReactionConfig | None, key: str) -> int:
    """Polarity of a reaction key in ``config`` (or the defaults); 0 for an unknown key."""
    for reaction in (config.reactions if config else DEFAULT_REACTIONS):
        if reaction.key == key:
            return reaction.polarity
    return 0


# --- content sets -----------------------------------------------------------------------------

CONTENT_SET_KEY_PATTERN = _KEY_PATTERN
CONTENT_SET_KEY_RULE = _KEY_RULE


def default_one_per_visitor(signal_type: SignalType | str) -> bool:
    """Votes, ratings, likes and reactions count once per visitor; feedback messages may repeat."""
    return SignalType(signal_type) is not SignalType.message


class ContentSetRules(BaseModel):
    """What ingest and stats need to know about one content set of a project."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    key: Key
    signal_type: SignalType
    config: TypeConfig
    edit_window_seconds: Annotated[int, Field(ge=0, le=MAX_EDIT_WINDOW_SECONDS)] = DEFAULT_EDIT_WINDOW_SECONDS
    one_per_visitor: bool = True
    public_stats: bool = True

    @model_validator(mode="before")
    @classmethod
    def _config_of_type(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            data = {name: getattr(data, name) for name in cls.model_fields if hasattr(data, name)}
        data = dict(data)
        if data.get("signal_type") in SignalType.__members__:
            data["config"] = parse_type_config(data["signal_type"], data.get("config"))
        return data

    @property
    def final_at_once(self) -> bool:
        """True when signals of this set can never be edited or revoked."""
        return self.edit_window_seconds == 0

    @property
    def rating_scale(self) -> int:
        return self.config.scale if isinstance(self.config, RatingConfig) else 0


# --- value rules ------------------------------------------------------------------------------


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


# --- project rules ----------------------------------------------------------------------------

MIN_RETENTION_DAYS = 1
DEFAULT_RETENTION_DAYS = 730
DEFAULT_TIMEZONE = "UTC"


def normalize_timezone(name: str) -> str:
    """The IANA time-zone name itself; raises ValueError naming it when unknown."""
    if not isinstance(name, str) or not name.strip() or name.strip() != name or "\\" in name:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name like Europe/Paris or UTC")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name like Europe/Paris or UTC") from None
    return name


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case; ``https://*.example.com`` allows every subdomain.

    Raises ValueError naming the origin when it has a path, query, credentials or no host.
    """
    problem = f"origin {origin!r} must look like https://example.com or https://*.example.com (scheme and host, no path)"
    if not isinstance(origin, str):
        raise ValueError(problem)
    value = origin.strip().rstrip("/").lower()
    if _CONTROL.search(value):  # urlsplit would quietly drop tabs and line breaks, keeping them in value
        raise ValueError(problem)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query or parts.fragment:
        raise ValueError(problem)
    if "@" in parts.netloc:
        raise ValueError(problem)
    host = parts.netloc.removeprefix("*.")
    if not re.fullmatch(r"[a-z0-9.\-\[\]:]+", host) or "*" in host:
        raise ValueError(problem)
    try:
        parts.port
    except ValueError:
        raise ValueError(problem) from None
    return value


def origin_allowed(origin: str, allowed_origins: list[str] | tuple[str, ...]) -> bool:
    """Whether a browser ``Origin`` may use a project's public key; an empty allow-list allows every origin."""
    if not allowed_origins:
        return True
    origin = origin.strip().rstrip("/").lower()
    scheme, _, host = origin.partition("://")
    for allowed in allowed_origins:
        if allowed == origin:
            return True
        allowed_scheme, _, allowed_host = allowed.partition("://")
        if allowed_host.startswith("*.") and scheme == allowed_scheme and host.endswith(allowed_host[1:]):
            return True
    return False

