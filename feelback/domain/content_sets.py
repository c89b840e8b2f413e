"""Content sets: what ingest and stats need to know about one set of a project's content."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from feelback.domain.signal_types import SignalType
from feelback.domain.text_rules import KEY_PATTERN, KEY_RULE, Key
from feelback.domain.type_configs import RatingConfig, TypeConfig, parse_type_config

CONTENT_SET_KEY_PATTERN = KEY_PATTERN
CONTENT_SET_KEY_RULE = KEY_RULE
MAX_EDIT_WINDOW_SECONDS = 30 * 86400
DEFAULT_EDIT_WINDOW_SECONDS = 3600


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
