"""Synthetic raw events for the benchmarks: realistic enough to cost what real traffic costs.

Events are numbered; every attribute of a signal derives from the number of its create, so an edit
or revoke (number n) of signal s carries s's project, set, content and visitor. 80 % creates, 10 %
edits and 10 % revokes of signals up to ``reach`` events older; one event in 100 is a bot's.
Content sets, one per signal type, are ``CONTENT_SETS`` (the same keys in every project).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

# key: (signal type, config), as the control plane stores a content set
CONTENT_SETS: dict[str, tuple[str, dict]] = {
    "votes": ("yesno", {}),
    "stars": ("rating", {"scale": 5}),
    "likes": ("like", {}),
    "reactions": ("reaction", {}),
    "notes": ("message", {}),
}

EVENTS = """
INSERT INTO raw.feedback_events
    (event_id, idempotency_key, project_id, content_set, content_key, signal_id, operation, signal_type, value,
     rating_scale, reaction, message, tags, contact_email, form_fields, visitor_id, is_bot, occurred_at, received_at)
SELECT
    generateUUIDv4(number) AS event_id,
    concat({idempotency_prefix:String}, toString(number)) AS idempotency_key,
    {projects:Array(String)}[1 + s % length({projects:Array(String)})] AS project_id,
    {sets:Array(String)}[t + 1] AS content_set,
    concat({content_prefix:String}, toString(toUInt32(pow(cityHash64(s, 2) % 1000000 / 1000000, {skew:Float64}) * {contents:UInt32}))) AS content_key,
    reinterpretAsUUID(reverse(unhex(leftPad(hex(s), 32, '0')))) AS signal_id,
    op AS operation,
    {types:Array(String)}[t + 1] AS signal_type,
    multiIf(op = 'revoke', NULL, t = 0, if(cityHash64(number, 5) % 2 = 0, 1, -1), t = 1, 1 + cityHash64(number, 5) % 5,
            t = 2, 1, NULL) AS value,
    if(t = 1, 5, 0) AS rating_scale,
    if(t = 3 AND op != 'revoke', ['thumbs_up', 'heart', 'confused', 'eyes'][1 + cityHash64(number, 6) % 4], '') AS reaction,
    if(t = 4 AND op != 'revoke', ['Great page, thanks!', 'This is wrong and confusing.', 'ok'][1 + cityHash64(number, 7) % 3], '') AS message,
    [] AS tags, '' AS contact_email, map() AS form_fields,
    concat('v', toString(cityHash64(s, 3) % 50000)) AS visitor_id,
    cityHash64(number, 8) % 100 = 0 AS is_bot,
    received AS occurred_at,
    received AS received_at
FROM
(
    SELECT
        number,
        multiIf(number < {first:UInt64} + 100 OR cityHash64(number, 4) % 10 < 8, 'create',
                cityHash64(number, 4) % 10 = 8, 'edit', 'revoke') AS op,
        if(op = 'create', number, greatest(toInt64(number) - 1 - toInt64(cityHash64(number, 9) % {reach:UInt64}), 0)) AS s,
        cityHash64(s, 1) % {type_count:UInt8} AS t,
        {start:DateTime64(3, 'UTC')} + toIntervalMillisecond(intDiv((number - {first:UInt64}) * {span_ms:UInt64}, {count:UInt64})) AS received
    FROM numbers({first:UInt64}, {count:UInt64})
)
"""


def insert_events(
    client,
    first: int,
    count: int,
    start: dt.datetime,
    span: dt.timedelta,
    reach: int,
    *,
    projects: Sequence[str] = ("project-0",),
    contents: int = 500,
    skew: float = 1.0,
    content_prefix: str = "/page-",
    idempotency_prefix: str = "",
) -> None:
    """Insert events ``first`` .. ``first + count - 1``, received evenly over ``[start, start + span)``.

    A signal belongs to ``projects[s % len(projects)]``; its content is one of ``contents`` pages,
    ``content_prefix`` + rank, the rank drawn as ``u ** skew * contents`` for a uniform ``u`` (1:
    uniform; 3: a few popular pages get most signals). An edit or revoke reaches up to ``reach``
    events back, so keep ``reach`` within the edit window's worth of events (30 days at most).
    ``client`` is a clickhouse-connect client.
    """
    sets = list(CONTENT_SETS)
    client.command(
        EVENTS,
        parameters={
            "projects": list(projects),
            "sets": sets,
            "types": [CONTENT_SETS[key][0] for key in sets],
            "type_count": len(sets),
            "contents": contents,
            "skew": float(skew),
            "content_prefix": content_prefix,
            "idempotency_prefix": idempotency_prefix,
            "first": first,
            "count": count,
            "start": start,
            "span_ms": int(span.total_seconds() * 1000),
            "reach": max(1, reach),
        },
    )
