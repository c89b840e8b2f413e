"""Per-signal-type configuration: one pydantic model per type (unknown keys refused), their defaults,
and the default reactions with their polarity."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from feelback.domain.signal_types import SignalType
from feelback.domain.text_rules import Key

RATING_SCALES = (5, 7, 10)
DEFAULT_RATING_SCALE = 5
DEFAULT_MESSAGE_TAGS = ("idea", "bug", "other")
DEFAULT_MESSAGE_MAX_LENGTH = 5000
MAX_MESSAGE_MAX_LENGTH = 20000
MAX_REACTIONS = 50

Polarity = Literal[-1, 0, 1]


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
