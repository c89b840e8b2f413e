"""The common create checked by hand, without building a model.

A vote, rating, like or reaction (content set, content key, a plain value, maybe an anonymous id and
an idempotency key) passes ``plain_create_rules``; anything else, valid or not, takes the pydantic
model, so every refusal still comes from one place.
"""

from __future__ import annotations

import re
from typing import Any

from feelback.domain import CONTENT_SET_KEY_PATTERN, ContentSetRules, SignalType
from ingest_api.ingest.state import SignalIngest
from ingest_api.signal_schemas import ANONYMOUS_ID_PATTERN, IDEMPOTENCY_KEY, MAX_CONTENT_KEY_LENGTH

PLAIN_CREATE_FIELDS = frozenset({"content_set", "content_key", "value", "anonymous_id", "idempotency_key"})
PLAIN_OPERATION_FIELDS = PLAIN_CREATE_FIELDS | {"op"}
_PLAIN_VALUE_TYPES = frozenset({type(None), bool, int, float, str})
_CONTENT_SET_KEY = re.compile(CONTENT_SET_KEY_PATTERN)
_ANONYMOUS_ID = re.compile(ANONYMOUS_ID_PATTERN)


def plain_create_rules(ingest: SignalIngest, project_id: str, data: dict[str, Any],
                       fields: frozenset[str] = PLAIN_CREATE_FIELDS,
                       known_sets: dict[str, ContentSetRules] | None = None) -> ContentSetRules | None:  # fmt: skip
    """The cached rules of the content set when ``data`` is a plain create that surely passes the
    create model (only ``fields``, each within its rules) for a set that is not a message set;
    None for anything else, which then takes the model. ``known_sets`` keeps the rules found per
    content set for the rest of a batch."""
    if not fields.issuperset(data):
        return None
    content_set, content_key = data.get("content_set"), data.get("content_key")
    if type(content_set) is not str or type(content_key) is not str or not 0 < len(content_key) <= MAX_CONTENT_KEY_LENGTH:
        return None
    if type(data.get("value")) not in _PLAIN_VALUE_TYPES:
        return None
    anonymous_id = data.get("anonymous_id")
    if anonymous_id is not None and (type(anonymous_id) is not str or not _ANONYMOUS_ID.fullmatch(anonymous_id)):
        return None
    key = data.get("idempotency_key")
    if key is not None and (type(key) is not str or not IDEMPOTENCY_KEY.fullmatch(key)):
        return None
    if known_sets is not None and (rules := known_sets.get(content_set)) is not None:
        return rules
    if not _CONTENT_SET_KEY.fullmatch(content_set):
        return None
    rules = ingest.cached_rules(project_id, content_set)
    if rules is None or rules.signal_type is SignalType.message:
        return None
    if known_sets is not None:
        known_sets[content_set] = rules
    return rules
