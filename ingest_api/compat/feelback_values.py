"""The values of the original Feelback SDKs (``@feelback/js``, ``@feelback/react``, ``astro-feelback``)
translated into the fields of our own create and edit bodies, and our counts into the arrays their
widgets index by button.

* yes/no and up/down sets: ``"y"``, ``"+1"`` (and our own spellings) are positive; ``"n"``, ``"-1"`` negative.
* like sets: ``"+"`` (the pulse widgets' only value) is a like.
* reaction sets: a reaction is found by its key or emoji in the set's configuration, else through
  ``REACTION_ALIASES`` (GitHub's ``+1`` is our ``thumbs_up`` 👍, Facebook's ``angry`` our ``rage`` 😡, ...).
  ``REACTION_PRESETS`` are configurations whose order matches the SDK presets, so their counts line up.
* message sets: a string is the message; an object gives ``message``, ``tag`` (one of the set's tags;
  the SDK's ``error`` is our ``bug`` when the set has no ``error`` tag) and other declared form fields.
  ``context.$user`` is the contact e-mail; other context entries fill declared form fields.

Anything not translated is passed on as sent, so our own value rules refuse it with their message.
A tag without text is refused (our feedback messages have text). ``python -m
ingest_api.compat.feelback_values github`` prints a preset as a reaction set's ``config``.
"""

from __future__ import annotations

from typing import Any

from feelback.domain import ContentSetRules, MessageConfig, Reaction, ReactionConfig, SignalType, SignalValueError

USER_CONTEXT = "$user"

_POSITIVE = {"y", "+1", "+"}
_NEGATIVE = {"n", "-1", "-"}

# An SDK reaction value -> our reaction keys or emojis that mean it, in order of preference.
REACTION_ALIASES: dict[str, tuple[str, ...]] = {
    "+1": ("thumbs_up", "like", "👍"),
    "-1": ("thumbs_down", "dislike", "👎"),
    "laugh": ("smile", "laughing", "😄"),
    "confused": ("😕",),
    "heart": ("love", "❤️"),
    "hooray": ("tada", "🎉"),
    "rocket": ("🚀",),
    "eyes": ("👀",),
    "like": ("thumbs_up", "👍"),
    "love": ("heart", "❤️", "😍"),
    "wow": ("astonished", "open_mouth", "😮"),
    "sad": ("cry", "disappointed", "😥", "😢", "🙁"),
    "angry": ("rage", "😡"),
    "happy": ("smile", "slightly_smiling_face", "🙂", "😊"),
    "neutral": ("neutral_face", "😐"),
    "hate": ("rage", "confounded", "😖"),
}

# Reaction configurations in the order of the SDK presets (the order the widgets' count indexes use).
_PRESET_REACTIONS: dict[str, tuple[tuple[str, str, int], ...]] = {  # (key, emoji, polarity)
    "github": (
        ("thumbs_up", "👍", 1), ("thumbs_down", "👎", -1), ("laugh", "😄", 1), ("confused", "😕", -1),
        ("heart", "❤️", 1), ("hooray", "🎉", 1), ("rocket", "🚀", 1), ("eyes", "👀", 0),
    ),
    "facebook": (("like", "👍", 1), ("love", "❤️", 1), ("laugh", "😄", 1), ("wow", "😮", 0), ("sad", "😥", -1), ("angry", "😡", -1)),
    "feeling": (("happy", "🙂", 1), ("neutral", "😐", 0), ("sad", "🙁", -1)),
    "evaluation": (("love", "😍", 1), ("happy", "🙂", 1), ("sad", "🙁", -1), ("hate", "😖", -1)),
}
REACTION_PRESETS: dict[str, tuple[Reaction, ...]] = {
    name: tuple(Reaction(key=key, emoji=emoji, polarity=polarity) for key, emoji, polarity in rows)
    for name, rows in _PRESET_REACTIONS.items()
}

# SDK tags (astro-feelback's "feedback" preset) -> our default tags.
TAG_ALIASES = {"error": "bug"}


def signal_fields(rules: ContentSetRules, value: Any, context: dict[str, Any] | None) -> dict[str, Any]:
    """Our create/edit body fields (``value``, or ``message``/``tags``/``contact_email``/``form_fields``)
    for an SDK ``value`` and ``context`` sent to the set of ``rules``."""
    kind = rules.signal_type
    if kind is SignalType.message:
        assert isinstance(rules.config, MessageConfig)
        return _message_fields(rules, value, context or {})
    if kind in (SignalType.yesno, SignalType.updown) and isinstance(value, str):
        if value in _POSITIVE:
            return {"value": 1}
        if value in _NEGATIVE:
            return {"value": -1}
    elif kind is SignalType.like and value in ("+", "+1", "y"):
        return {"value": 1}
    elif kind is SignalType.reaction and isinstance(value, str):
        assert isinstance(rules.config, ReactionConfig)
        return {"value": reaction_key(rules.config, value) or value}
    return {"value": value}


def reaction_key(config: ReactionConfig, value: str) -> str | None:
    """The configured reaction an SDK value names (by key, emoji or alias); None when none does."""
    by_name = {reaction.key: reaction.key for reaction in config.reactions}
    by_name.update({reaction.emoji: reaction.key for reaction in config.reactions})
    for name in (value, *REACTION_ALIASES.get(value, ())):
        if name in by_name:
            return by_name[name]
    return None


def _message_fields(rules: ContentSetRules, value: Any, context: dict[str, Any]) -> dict[str, Any]:
    config = rules.config
    assert isinstance(config, MessageConfig)
    declared = {field.name for field in config.form_fields}
    fields: dict[str, Any] = {}
    form_fields = {name: text for name, text in context.items() if name in declared}
    if isinstance(value, dict):
        value = dict(value)
        if "message" in value:
            fields["message"] = value.pop("message")
        if "tag" in value:
            tag = value.pop("tag")
            if isinstance(tag, str) and tag not in config.tags and TAG_ALIASES.get(tag) in config.tags:
                tag = TAG_ALIASES[tag]
            fields["tags"] = [tag]
            if fields.get("message") in (None, ""):
                rule = "a tag alone is not stored: feedback needs text (make the widget's message field required)"
                raise SignalValueError("message", rule, rules.key)
        form_fields.update(value)  # anything else must be a declared form field: our rules say so if not
    else:
        fields["message"] = value
    if form_fields:
        fields["form_fields"] = form_fields
    if context.get(USER_CONTEXT):
        fields["contact_email"] = context[USER_CONTEXT]
    return fields


def widget_counts(rules: ContentSetRules, counts: dict[str, int]) -> list[int]:
    """Our stats ``counts`` as the array the SDK widgets index by button: ``[positive, negative]``,
    ``[likes]``, ratings 1..scale, reactions in the set's configured order; ``[]`` for messages."""
    kind = rules.signal_type
    if kind is SignalType.yesno:
        names = ["yes", "no"]
    elif kind is SignalType.updown:
        names = ["up", "down"]
    elif kind is SignalType.like:
        names = ["like"]
    elif kind is SignalType.rating:
        names = [str(point) for point in range(1, rules.rating_scale + 1)]
    elif kind is SignalType.reaction:
        assert isinstance(rules.config, ReactionConfig)
        names = [reaction.key for reaction in rules.config.reactions]
    else:
        names = []
    return [int(counts.get(name, 0)) for name in names]


if __name__ == "__main__":
    import json
    import sys

    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in REACTION_PRESETS:
        sys.exit(f"usage: python -m ingest_api.compat.feelback_values {{{','.join(REACTION_PRESETS)}}}")
    print(json.dumps({"reactions": [reaction.model_dump() for reaction in REACTION_PRESETS[name]]}, ensure_ascii=False))
