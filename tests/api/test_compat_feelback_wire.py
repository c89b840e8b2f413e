"""The wire format of the original Feelback SDKs, without a server: the raw ``$p`` query as a browser
sends it, revoke tokens, derived idempotency keys, and value mapping to our fields."""

from __future__ import annotations

import json

import pytest

from feelback.domain import ContentSetRules, ReactionConfig
from ingest_api.compat.feelback_values import REACTION_PRESETS, signal_fields, widget_counts
from ingest_api.compat.feelback_wire import (
    CreateArgs, WireError, edit_key, parse_aggregates_query, parse_args, remove_key, revoke_token, split_revoke_token,
)  # fmt: skip

_QUERY_ESCAPED = set(' "#<>\'') | {chr(code) for code in range(0x20)} | {"\x7f"}


def browser_query(target: dict | str) -> bytes:
    """``?$p=JSON.stringify([target])`` as Chromium sends it: the WHATWG special-query percent-encode
    set escaped (space, ", #, <, >, ', controls, non-ASCII), everything else as is, a "#" ends the query."""
    text = "$p=" + json.dumps([target], separators=(",", ":"), ensure_ascii=False)
    text = text.split("#", 1)[0]
    out = []
    for char in text:
        if char in _QUERY_ESCAPED or ord(char) > 0x7E:
            out.append("".join(f"%{byte:02X}" for byte in char.encode()))
        else:
            out.append(char)
    return "".join(out).encode("ascii")


KEYS = [
    "/guide",
    "https://docs.example.com/guide?q=a+b&lang=en",
    "a key with spaces, 'quotes' and \"double quotes\" <b>",
    "café/ünïcødé/日本",
    "100% sure",
    "https://docs.example.com/caf%C3%A9?x=%20y",  # a URL key with escapes of its own
]


@pytest.mark.parametrize("key", KEYS)
def test_a_browser_query_names_its_target(key):
    readings = parse_aggregates_query(browser_query({"contentSetId": "votes", "key": key}))
    assert "votes" == readings[0].contentSetId
    assert key in [reading.key for reading in readings]


def test_plus_and_ampersand_are_kept_and_other_parameters_ignored():
    readings = parse_aggregates_query(b'$p=[{%22contentSetId%22:%22votes%22,%22key%22:%22a+b&c=d%22}]')
    assert [reading.key for reading in readings] == ["a+b&c=d"]
    assert parse_aggregates_query(b"v=1&%24p=[{%22contentSetId%22:%22votes%22,%22key%22:%22k%22}]")[0].key == "k"


def test_a_key_cut_by_a_hash_names_nothing():
    query = browser_query({"contentSetId": "votes", "key": "https://docs.example.com/guide#install"})
    assert query.endswith(b"guide")
    assert parse_aggregates_query(query) == []


@pytest.mark.parametrize("query", [b"", b"key=1", b"$p=hello", b"$p="])
def test_a_query_without_the_sdk_array_is_refused(query):
    with pytest.raises(WireError, match=r"\$p"):
        parse_aggregates_query(query)


@pytest.mark.parametrize("key", KEYS)
def test_a_content_id_is_the_set_and_the_key(key):
    """The SDK sends a contentId target as the bare string, in a create and in getAggregates' $p."""
    created = parse_args(CreateArgs, json.dumps([{"contentId": f"votes:{key}", "value": "y"}]).encode())
    assert (created.contentSetId, created.key, created.value) == ("votes", key, "y")
    readings = parse_aggregates_query(browser_query(f"votes:{key}"))
    assert {reading.contentSetId for reading in readings} == {"votes"} and key in [reading.key for reading in readings]


@pytest.mark.parametrize("content_id", ["0f8fe2a6-3b7c-4c1e-9d1a-8f0e2b7c5d11", "Docs:/guide", ":/guide", "votes:", 42, None])
def test_a_content_id_not_made_of_a_set_and_a_key_is_refused_by_name(content_id):
    with pytest.raises(WireError, match=r'contentId: must be "<content set key>:<content key>"'):
        parse_args(CreateArgs, json.dumps([{"contentId": content_id, "value": "y"}]).encode())
    if isinstance(content_id, str):
        with pytest.raises(WireError, match="contentId"):
            parse_aggregates_query(browser_query(content_id))


def test_revoke_tokens_count_edits():
    token = revoke_token("payload.mac", 0)
    assert split_revoke_token(token) == ("payload.mac", 0)
    assert split_revoke_token(revoke_token("payload.mac", 7)) == ("payload.mac", 7)
    assert split_revoke_token("payload.mac") == ("payload.mac", 0)  # our own edit token as it is


def test_derived_keys_name_one_attempt():
    assert edit_key("s", 0, {"value": 1}) == edit_key("s", 0, {"value": 1})
    assert len({edit_key("s", 0, {"value": 1}), edit_key("s", 1, {"value": 1}), edit_key("s", 0, {"value": -1})}) == 3
    assert remove_key("s") == remove_key("s") != remove_key("t")
    assert all(len(key) <= 128 and " " not in key for key in (edit_key("s", 0, {}), remove_key("s")))


def rules(signal_type: str, config: dict | None = None) -> ContentSetRules:
    return ContentSetRules.model_validate({"key": "set", "signal_type": signal_type, "config": config or {}})


GITHUB = rules("reaction", {"reactions": [r.model_dump() for r in REACTION_PRESETS["github"]]})


@pytest.mark.parametrize(
    ("set_rules", "value", "context", "fields"),
    [
        (rules("yesno"), "y", None, {"value": 1}),
        (rules("yesno"), "-1", None, {"value": -1}),
        (rules("updown"), "+1", None, {"value": 1}),
        (rules("updown"), "n", None, {"value": -1}),
        (rules("like"), "+", {"$user": "a@b.c"}, {"value": 1}),
        (rules("rating"), "4", None, {"value": "4"}),
        (rules("reaction"), "+1", None, {"value": "thumbs_up"}),
        (rules("reaction"), "hooray", None, {"value": "tada"}),
        (rules("reaction"), "angry", None, {"value": "rage"}),
        (rules("reaction"), "rocket", None, {"value": "rocket"}),  # not configured: our rules refuse it
        (GITHUB, "laugh", None, {"value": "laugh"}),
        (GITHUB, "👀", None, {"value": "eyes"}),
        (rules("message"), "Hello", {"$user": "ann@example.com"}, {"message": "Hello", "contact_email": "ann@example.com"}),
        (rules("message"), {"tag": "error", "message": "Broken"}, None, {"message": "Broken", "tags": ["bug"]}),
        (
            rules("message", {"tags": ["error"], "form_fields": [{"name": "page"}]}),
            {"tag": "error", "message": "x", "page": "2"},
            {"page": "ignored: the value has it", "other": "dropped"},
            {"message": "x", "tags": ["error"], "form_fields": {"page": "2"}},
        ),
    ],
)
def test_values_map_to_our_fields(set_rules, value, context, fields):
    assert signal_fields(set_rules, value, context) == fields


def test_widget_counts_follow_the_buttons():
    assert widget_counts(rules("yesno"), {"yes": 3, "no": 1}) == [3, 1]
    assert widget_counts(rules("updown"), {"down": 2}) == [0, 2]
    assert widget_counts(rules("like"), {"like": 5}) == [5]
    assert widget_counts(rules("rating"), {"2": 1, "5": 4}) == [0, 1, 0, 0, 4]
    assert widget_counts(GITHUB, {"eyes": 1, "thumbs_up": 2}) == [2, 0, 0, 0, 0, 0, 0, 1]
    assert widget_counts(rules("message"), {}) == []


def test_presets_are_valid_reaction_configs():
    for reactions in REACTION_PRESETS.values():
        assert ReactionConfig(reactions=reactions).reactions == reactions
