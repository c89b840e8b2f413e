"""The wire format of the original Feelback SDKs: request bodies, the raw ``$p`` query of
``getAggregates``, revoke tokens, answers, and the idempotency keys derived for requests that carry none.

Every POST body is a JSON array of arguments; the SDK uses the first. A content is targeted by
``contentSetId`` and ``key``, or by ``contentId``, which here is ``"<content set key>:<content key>"``
(``content_target``): we keep no content records, so the id names the set and the key itself.
``getAggregates`` sends ``?$p=<JSON>`` without URL-encoding it, so the query is read raw: ``+`` is a
plus and ``&`` may be inside the JSON; the browser itself percent-encodes only space, ``"``, ``<``,
``>``, ``'`` and non-ASCII characters and cuts everything from a ``#`` (``parse_aggregates_query``).

Idempotency. The SDKs send no key and send each request once (one ``fetch``, no retry; a failure
is only logged), but a browser may resend one itself: Chromium resends a POST whose reused
connection closed before any answer, and the page sees only the second answer.

* remove: the key is derived from the signal, so a resent remove is answered, not stored twice.
* edit: the revoke token we hand out is our edit token plus a counter (``<edit_token>~<n>``); each
  edit answers with ``n + 1``, so the key (signal, n, value) names one edit attempt and a resent edit
  is recognised, while the next click (which carries ``n + 1``) is a new edit.
* create: nothing in the request tells a resend apart: no key, nonce or time; the body is fixed by
  the target, value and form fields and the headers by the browser, so it is byte for byte the next
  create of the same value by the same visitor id (a hash of IP and user agent: also two people
  behind one NAT with the same browser, or a visitor whose storage was cleared). Merging such
  creates by content and time would drop real signals, so none is derived and a resend is stored
  again. One-per-visitor sets (all but message sets by default) count only the visitor's newest
  signal, so their counts do not change; a message set keeps the message twice.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any
from urllib.parse import unquote

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from feelback.domain import CONTENT_SET_KEY_PATTERN
from ingest_api.errors import validation_message
from ingest_api.signal_schemas import MAX_CONTENT_KEY_LENGTH

TOKEN_SEPARATOR = "~"
CONTENT_ID_SEPARATOR = ":"


class WireError(ValueError):
    """A request that does not follow the SDK protocol; ``str()`` says what is wrong."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CreateArgs(_Body):
    contentSetId: Annotated[str, Field(min_length=1, max_length=200)]  # noqa: N815 (the SDK's names)
    key: Annotated[str, Field(min_length=1, max_length=MAX_CONTENT_KEY_LENGTH)]
    value: Any = None
    context: dict[str, Any] | None = None
    revokable: bool = True


class EditArgs(_Body):
    feelbackId: Annotated[str, Field(min_length=1, max_length=100)]  # noqa: N815
    revokeToken: Annotated[str, Field(min_length=1, max_length=2000)]  # noqa: N815
    value: Any = None


class RemoveArgs(_Body):
    feelbackId: Annotated[str, Field(min_length=1, max_length=100)]  # noqa: N815
    revokeToken: Annotated[str, Field(min_length=1, max_length=2000)]  # noqa: N815


def parse_args(model: type[_Body], body: bytes) -> Any:
    """The first argument of a POST body (``[{...}]``) as ``model``; raises WireError."""
    try:
        data = orjson.loads(body) if body.strip() else None
    except orjson.JSONDecodeError as exc:
        raise WireError(f"request: is not valid JSON ({exc})") from None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise WireError("request: must be a JSON array whose first item is an object, as the Feelback SDK sends")
    first = data[0]
    if "contentId" in first and "contentSetId" not in first:
        content_set, key = content_target(first["contentId"])
        first = {**first, "contentSetId": content_set, "key": key}
    try:
        return model.model_validate(first)
    except ValidationError as exc:
        raise WireError(validation_message(exc.errors())) from None


def content_target(content_id: Any) -> tuple[str, str]:
    """(content set, content key) of a ``contentId``, which here is ``<content set key>:<content key>``
    (a set key has no ":"); raises WireError for anything else, such as an id the hosted Feelback made."""
    if isinstance(content_id, str):
        content_set, separator, key = content_id.partition(CONTENT_ID_SEPARATOR)
        if separator and key and re.fullmatch(CONTENT_SET_KEY_PATTERN, content_set):
            return content_set, key
    shown = repr(content_id)[:80]
    raise WireError(
        f'contentId: must be "<content set key>:<content key>" here, like "docs:/guide/install" (got {shown}); '
        "ids of contents created in the hosted Feelback are not known to this server"
    )


# --- revoke tokens ------------------------------------------------------------------------------


def revoke_token(edit_token: str, edits: int) -> str:
    return f"{edit_token}{TOKEN_SEPARATOR}{edits}"


def split_revoke_token(token: str) -> tuple[str, int]:
    """(our edit token, edits made with it so far); a token without a counter counts 0."""
    edit_token, separator, counter = token.rpartition(TOKEN_SEPARATOR)
    if separator and counter.isdigit() and len(counter) <= 9:
        return edit_token, int(counter)
    return token, 0


def _derived(kind: str, *parts: Any) -> str:
    digest = hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()[:40]
    return f"fbcompat-{kind}-{digest}"


def edit_key(signal_id: str, edits: int, fields: dict[str, Any]) -> str:
    return _derived("edit", signal_id, edits, fields)


def remove_key(signal_id: str) -> str:
    return _derived("remove", signal_id)


# --- answers -----------------------------------------------------------------------------------


def created_answer(ours: dict[str, Any], revokable: bool) -> dict[str, Any]:
    """Our create answer (``signal_id``, ``edit_token``, ``editable_until``) as the SDK reads it."""
    answer: dict[str, Any] = {"feelbackId": ours["signal_id"]}
    if revokable and ours.get("edit_token"):
        answer["revokable"] = {"token": revoke_token(ours["edit_token"], 0), "expireAt": ours["editable_until"]}
    return answer


def edited_answer(ours: dict[str, Any], edit_token: str, edits: int) -> dict[str, Any]:
    """Our edit answer (``signal_id``, ``editable_until``) as the SDK reads it: the next revoke token."""
    return {
        "feelbackId": ours["signal_id"],
        "revokable": {"token": revoke_token(edit_token, edits + 1), "expireAt": ours["editable_until"]},
    }


# --- getAggregates -----------------------------------------------------------------------------

_PARAMETER = re.compile(rb"(?:^|&)(?:\$|%24)p=")
# What a browser percent-encodes in a query (WHATWG URL "special-query percent-encode set") that the
# SDK's JSON can contain: space, ", ', <, >, DEL, and the UTF-8 bytes of non-ASCII characters.
_BROWSER_ESCAPES = re.compile(r"%(?:20|22|27|3[cCeE]|7[fF])|(?:%[89a-fA-F][0-9a-fA-F])+")


class Target(BaseModel):
    model_config = ConfigDict(extra="ignore")

    contentSetId: str  # noqa: N815
    key: str


def _undo_escape(match: re.Match[str]) -> str:
    try:
        return unquote(match.group(0), errors="strict")
    except UnicodeDecodeError:  # not UTF-8: not made by a browser, so part of the key as sent
        return match.group(0)


def parse_aggregates_query(query: bytes) -> list[Target]:
    """The target of ``getAggregates``, once per readable way of decoding the raw query: usually one;
    two when the key had percent-escapes of its own (a URL key), which the browser leaves as they
    are, so they cannot be told from the ones it made. Empty when ``$p`` was cut short (a ``#`` in
    the key: the browser sends nothing after it); raises WireError when ``$p`` is missing or is not
    the SDK's JSON array."""
    found = _PARAMETER.search(query)
    if found is None:
        raise WireError("$p: is required (the JSON array of targets the Feelback SDK sends)")
    raw = query[found.end():].decode("latin-1")
    if not raw.startswith(("[", "%5B", "%5b")):
        raise WireError('$p: must be a JSON array like [{"contentSetId":"docs","key":"/guide"}]')
    # Every escape the browser could have made, undone; or only its quotes, the rest kept as sent.
    decodings = dict.fromkeys([_BROWSER_ESCAPES.sub(_undo_escape, raw), raw.replace("%22", '"')])
    ways: list[Target] = []
    refused: WireError | None = None
    for text in decodings:
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(data, list) or not data:
            continue
        try:
            if isinstance(data[0], str):  # the SDK sends a contentId target as the bare string
                content_set, key = content_target(data[0])
                target = Target(contentSetId=content_set, key=key)
            else:
                target = Target.model_validate(data[0])
        except WireError as exc:
            refused = exc
            continue
        except ValidationError:
            continue
        if target not in ways:
            ways.append(target)
    if not ways and refused is not None:
        raise refused
    return ways
