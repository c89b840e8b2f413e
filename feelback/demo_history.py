"""Four weeks of sample signals for the demo project, so a fresh stack has something to show.

A newcomer's ``make up`` starts with an empty warehouse: the dashboards and the demo page's counts
would all say "no results" until real signals arrive and a night passes. ``feelback up`` writes
this history once, before its first warehouse build, into the demo project only (the embedded stack's
own, never a customer's), straight into ``raw.feedback_events`` as an import would: creates on every
demo set, some edits and revokes, a few bots, and messages with tags, form fields and a clear
sentiment. Deterministic (one seed), marked (visitor ids start with ``demo-``), and never written
twice: a demo project that has any event is left alone.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid

from clickhouse_connect.driver.client import Client

from feelback.demo import DEMO_SETS, Demo
from feelback.domain import DEFAULT_REACTIONS
from warehouse.raw_events import COLUMNS, TABLE

DAYS = 28
SEED = 2026
PAGES = ["/", "/docs/install", "/docs/widgets", "/docs/api", "/pricing", "/blog/launch"]
# (text, tag): what visitors of a documentation site write, praise and complaints alike
MESSAGES = [
    ("The install guide got me running in five minutes. Great work, thank you!", "praise"),
    ("Love the dark mode, it looks beautiful on my site.", "praise"),
    ("Could the rating widget show half stars?", "idea"),
    ("A Vue example next to the React one would help.", "idea"),
    ("The form does not submit on Safari 15, the button stays grey.", "bug"),
    ("Counts are wrong after I undo a vote, this is frustrating.", "bug"),
    ("The API page is confusing and the examples are broken.", "bug"),
    ("Nice and fast. Exactly what I needed.", "praise"),
]


def _value(rng: random.Random, signal_type: str, page: str) -> dict:
    """A value as the ingest stores it, a little kinder to the docs than to the pricing page."""
    kind = 0.75 if page.startswith("/docs") else 0.55
    if signal_type in ("yesno", "updown"):
        return {"value": 1 if rng.random() < kind else -1}
    if signal_type == "rating":
        return {"value": min(5, max(1, round(rng.gauss(2 + 3 * kind, 1)))), "rating_scale": 5}
    if signal_type == "like":
        return {"value": 1}
    if signal_type == "reaction":
        weights = [3 if reaction.polarity > 0 else 1 for reaction in DEFAULT_REACTIONS]
        return {"reaction": rng.choices(DEFAULT_REACTIONS, weights)[0].key}
    text, tag = rng.choice(MESSAGES)
    return {"message": text, "tags": [tag], "form_fields": {"page": page}}


def history(project_id: str, today: dt.date, days: int = DAYS, seed: int = SEED) -> list[list]:
    """The rows of ``days`` days up to yesterday: busier on weekdays, with edits and revokes of
    earlier signals and one bot in fifty."""
    rng = random.Random(seed)
    rows: list[list] = []
    live: list[tuple[uuid.UUID, str, str, str, str, dt.datetime]] = []  # signals that may still change

    def row(signal_id, operation, content_set, signal_type, page, visitor, moment, **fields) -> None:
        event = {"value": None, "rating_scale": 0, "reaction": "", "message": "", "tags": [], "form_fields": {}, **fields}
        rows.append([
            uuid.UUID(int=rng.getrandbits(128), version=4), uuid.UUID(int=rng.getrandbits(128)).hex, project_id,
            content_set, page, signal_id, operation, signal_type, event["value"], event["rating_scale"], event["reaction"],
            event["message"], event["tags"], "", event["form_fields"], visitor, fields.get("is_bot", False), moment, moment,
        ])  # fmt: skip

    for back in range(days, 0, -1):
        day = today - dt.timedelta(days=back)
        start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        for _ in range(rng.randint(25, 45) if day.weekday() < 5 else rng.randint(8, 18)):
            moment = start + dt.timedelta(seconds=rng.randint(6 * 3600, 23 * 3600))
            if live and rng.random() < 0.08:
                signal = live[rng.randrange(len(live))]
                signal_id, content_set, signal_type, page, visitor, made = signal
                moment = max(moment, made + dt.timedelta(minutes=1))
                if signal_type in ("like", "reaction") or rng.random() < 0.4:
                    live.remove(signal)  # a revoke is final
                    row(signal_id, "revoke", content_set, signal_type, page, visitor, moment)
                else:
                    row(signal_id, "edit", content_set, signal_type, page, visitor, moment, **_value(rng, signal_type, page))
                continue
            content_set = rng.choices(list(DEMO_SETS), [4, 3, 3, 2, 2, 1])[0]
            signal_type = DEMO_SETS[content_set][1]
            page = rng.choice(PAGES)
            visitor = f"demo-{rng.randint(1, 400)}"
            signal_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            row(signal_id, "create", content_set, signal_type, page, visitor, moment, is_bot=rng.random() < 0.02,
                **_value(rng, signal_type, page))  # fmt: skip
            live.append((signal_id, content_set, signal_type, page, visitor, moment))
    return rows


def seed_demo_history(client: Client, demo: Demo, today: dt.date | None = None) -> int:
    """Write the history into the demo project unless it has events already; how many rows."""
    has_events = client.command(
        "SELECT count() FROM raw.feedback_events WHERE project_id = {p:String}", parameters={"p": demo.project_id}
    )
    if int(has_events):
        return 0
    rows = history(demo.project_id, today or dt.datetime.now(dt.UTC).date())
    client.insert(TABLE, rows, column_names=list(COLUMNS))
    return len(rows)
