"""Value rules and configuration of the domain vocabulary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from feelback.domain import (
    DEFAULT_REACTIONS,
    ContentSetRules,
    Operation,
    ReactionConfig,
    SignalType,
    SignalValueError,
    normalize_origin,
    normalize_signal,
    normalize_timezone,
    origin_allowed,
    reaction_polarity,
)


def rules(signal_type: str, config: dict | None = None, key: str = "docs") -> ContentSetRules:
    return ContentSetRules(key=key, signal_type=signal_type, config=config)


def test_enum_codes_match_the_raw_schema():
    schema = (Path(__file__).parents[2] / "warehouse/migrations/sql/0001_raw_feedback_events.sql").read_text()

    def enum8(column: str) -> dict[str, int]:
        body = re.search(rf"\b{column}\s+Enum8\(([^)]*)\)", schema).group(1)
        return {name: int(code) for name, code in re.findall(r"'(\w+)'\s*=\s*(\d+)", body)}

    assert enum8("signal_type") == {kind.value: kind.code for kind in SignalType}
    assert enum8("operation") == {operation.value: operation.code for operation in Operation}


@pytest.mark.parametrize(
    ("signal_type", "given", "stored"),
    [
        ("yesno", True, 1), ("yesno", False, -1), ("yesno", "yes", 1), ("yesno", "NO", -1), ("yesno", -1, -1),
        ("updown", "up", 1), ("updown", "down", -1), ("updown", 1, 1), ("updown", -1, -1),
        ("rating", 1, 1), ("rating", 5, 5), ("rating", "4", 4), ("rating", 3.0, 3),
        ("like", 1, 1), ("like", True, 1), ("like", None, 1),
    ],
)
def test_accepted_values_are_normalized(signal_type, given, stored):
    assert normalize_signal(rules(signal_type), given).value == stored


@pytest.mark.parametrize(
    ("signal_type", "given", "message"),
    [
        ("yesno", "maybe", 'value: yes/no must be true, false, "yes" or "no" for content set "docs"'),
        ("yesno", 0, 'value: yes/no must be true, false, "yes" or "no" for content set "docs"'),
        ("updown", True, 'value: up/down must be "up", "down", 1 or -1 for content set "docs"'),
        ("updown", 0, 'value: up/down must be "up", "down", 1 or -1 for content set "docs"'),
        ("rating", 6, 'value: rating must be an integer from 1 to 5 for content set "docs"'),
        ("rating", 0, 'value: rating must be an integer from 1 to 5 for content set "docs"'),
        ("rating", True, 'value: rating must be an integer from 1 to 5 for content set "docs"'),
        ("rating", 2.5, 'value: rating must be an integer from 1 to 5 for content set "docs"'),
        ("rating", None, 'value: rating must be an integer from 1 to 5 for content set "docs"'),
        ("like", 0, 'value: like must be 1 or true (a like is revoked, not set to 0) for content set "docs"'),
        ("like", -1, 'value: like must be 1 or true (a like is revoked, not set to 0) for content set "docs"'),
    ],
)
def test_rejected_values_name_field_and_rule(signal_type, given, message):
    with pytest.raises(SignalValueError) as caught:
        normalize_signal(rules(signal_type), given)
    assert str(caught.value) == message
    assert caught.value.field == "value"


def test_rating_scale_comes_from_the_set():
    seven = rules("rating", {"scale": 7})
    signal = normalize_signal(seven, 7)
    assert (signal.value, signal.rating_scale) == (7, 7)
    with pytest.raises(SignalValueError, match="from 1 to 7"):
        normalize_signal(seven, 8)
    assert normalize_signal(rules("rating"), 3).rating_scale == 5
    assert normalize_signal(rules("yesno"), "yes").rating_scale == 0


@pytest.mark.parametrize("scale", [0, 6, 11, "5"])
def test_only_5_7_or_10_point_scales(scale):
    with pytest.raises(ValidationError):
        rules("rating", {"scale": scale})


def test_reactions_by_key_or_emoji_with_default_polarity():
    reaction = rules("reaction")
    assert normalize_signal(reaction, "heart").reaction == "heart"
    assert normalize_signal(reaction, "👎").reaction == "thumbs_down"
    with pytest.raises(SignalValueError, match='value: reaction must be one of: thumbs_up, heart, .* for content set "docs"'):
        normalize_signal(reaction, "🦄")
    polarity = {r.emoji: reaction_polarity(None, r.key) for r in DEFAULT_REACTIONS}
    assert polarity == {"👍": 1, "❤️": 1, "🎉": 1, "😄": 1, "😕": -1, "👎": -1, "😢": -1, "😡": -1, "👀": 0, "🤔": 0}


def test_custom_reaction_sets():
    custom = rules("reaction", {"reactions": [{"key": "rocket", "emoji": "🚀", "polarity": 1}, {"key": "meh", "emoji": "😐"}]})
    assert normalize_signal(custom, "🚀").reaction == "rocket"
    assert reaction_polarity(custom.config, "meh") == 0
    with pytest.raises(SignalValueError):
        normalize_signal(custom, "heart")
    for bad in (
        [],
        [{"key": "a", "emoji": "🚀"}, {"key": "a", "emoji": "😐"}],
        [{"key": "a", "emoji": "🚀", "polarity": 2}],
        [{"key": "Has Space", "emoji": "🚀"}],
    ):
        with pytest.raises(ValidationError):
            ReactionConfig(reactions=bad)


def test_message_text_tags_contact_and_form_fields():
    config = {"tags": ["idea", "bug"], "max_length": 20, "form_fields": [{"name": "role", "required": True, "max_length": 10}]}
    message = rules("message", config, key="feedback")
    signal = normalize_signal(
        message, message="  Love it  ", tags=["idea", "idea"], contact_email="Ann@Example.com", form_fields={"role": "dev"}
    )
    assert (signal.message, signal.tags, signal.contact_email, signal.form_fields) == ("Love it", ("idea",), "Ann@example.com", {"role": "dev"})
    assert signal.value is None
    assert normalize_signal(message, "as value", form_fields={"role": "pm"}).message == "as value"

    cases = {
        "message: message must be non-empty text": dict(message="  ", form_fields={"role": "x"}),
        "message: message must be at most 20 characters": dict(message="x" * 21, form_fields={"role": "x"}),
        "tags: tag 'other' is not allowed; allowed tags: idea, bug": dict(message="x", tags=["other"], form_fields={"role": "x"}),
        "contact_email: must be an e-mail address like name@example.com": dict(message="x", contact_email="nope", form_fields={"role": "x"}),
        "form_fields.role: is required": dict(message="x"),
        "form_fields.role: must be at most 10 characters": dict(message="x", form_fields={"role": "x" * 11}),
        "form_fields.age: unknown form field; configured fields: role": dict(message="x", form_fields={"role": "x", "age": "3"}),
    }
    for expected, arguments in cases.items():
        with pytest.raises(SignalValueError) as caught:
            normalize_signal(message, **arguments)
        assert str(caught.value) == f'{expected} for content set "feedback"'


def test_other_types_refuse_message_fields():
    with pytest.raises(SignalValueError, match="message: only message signals take message"):
        normalize_signal(rules("yesno"), True, message="hi")


def test_content_set_rules_from_a_stored_row():
    class Row:
        key, signal_type, config = "faq", "rating", {"scale": 10}
        edit_window_seconds, one_per_visitor, public_stats = 0, True, False

    loaded = ContentSetRules.model_validate(Row(), from_attributes=True)
    assert (loaded.rating_scale, loaded.final_at_once, loaded.public_stats) == (10, True, False)


def test_timezones_and_origins():
    assert normalize_timezone("America/New_York") == "America/New_York"
    for bad in ("Mars/Base", "", "../etc/passwd", " UTC"):
        with pytest.raises(ValueError, match="unknown time zone"):
            normalize_timezone(bad)
    assert normalize_origin("HTTPS://Docs.Example.com/") == "https://docs.example.com"
    for bad in ("example.com", "https://example.com/path", "ftp://example.com", "https://user@example.com"):
        with pytest.raises(ValueError, match="must look like https://example.com"):
            normalize_origin(bad)
    allowed = ["https://example.com", "https://*.example.org"]
    assert origin_allowed("https://example.com", allowed)
    assert origin_allowed("https://a.b.example.org", allowed)
    assert not origin_allowed("https://example.org.evil.com", allowed)
    assert not origin_allowed("http://example.com", allowed)
    assert origin_allowed("https://anything.test", [])
