"""The hand-written events of the pipeline tests' scenario project, and how to read its marts back.

Days are relative to today (UTC): D1..D6 = today-6 .. today-1. The project is in New York time,
so 15:00 UTC falls on the same date and 02:00 UTC on the date before.

Why so recent: the rolling windows are as of the build's watermark, the newest event staged by any
build of the session (other tests leave events received "now"), so anywhere from D5 to today. The
last 7 days as of any of those days hold D2..D5, so the 7-day charts of the shared build
(tests/fixtures/warehouse_build.py) have rows whatever other tests left in the shared server.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from tests.pipelines.raw_events import RawEvents

TODAY = dt.datetime.now(dt.UTC).date()
DAYS = {n: TODAY - dt.timedelta(days=7 - n) for n in range(1, 7)}
SCENARIO_TIMEZONE = "America/New_York"
REACTIONS = [
    {"key": "heart", "emoji": "❤️", "polarity": 1},
    {"key": "meh", "emoji": "😐", "polarity": 0},
    {"key": "angry", "emoji": "😠", "polarity": -1},
]
CONTENT_SETS = {
    # key: (signal type, config, one per visitor)
    "votes": ("yesno", {}, True),
    "stars": ("rating", {"scale": 5}, True),
    "likes": ("like", {}, False),
    "reactions": ("reaction", {"reactions": REACTIONS}, True),
    "notes": ("message", {}, False),
    "thumbs": ("updown", {}, True),
}


def at(day: int, clock: str = "15:00:00") -> dt.datetime:
    """A UTC moment on day D<day>; 15:00 UTC is the same date in New York, 02:00 UTC the day before."""
    return dt.datetime.combine(DAYS[day], dt.time.fromisoformat(clock), tzinfo=dt.UTC)


@dataclass
class Scenario:
    project_id: str
    signals: dict[str, uuid.UUID] = field(default_factory=dict)

    def phase_a(self) -> RawEvents:
        events = RawEvents(project_id=self.project_id)
        s = self.signals
        # votes: s1 is retired by v1's newer s4; s2 is retried at once; s3 falls on D1 in New York
        s["s1"] = events.create("yesno", at(1), content_set="votes", visitor_id="v1", value=1)
        s["s2"] = events.create("yesno", at(1), content_set="votes", visitor_id="v2", value=-1, idempotency_key="s2-create")
        events.add(s["s2"], "create", "yesno", at(1, "15:00:01"), content_set="votes", visitor_id="v2", value=-1, idempotency_key="s2-create")
        s["s3"] = events.create("yesno", at(2, "02:00:00"), content_set="votes", visitor_id="v3", value=1)
        events.create("yesno", at(1, "16:00:00"), content_set="votes", visitor_id="crawler", value=1, is_bot=True)
        s["s4"] = events.create("yesno", at(2), content_set="votes", visitor_id="v1", value=-1)
        s["s8"] = events.create("yesno", at(2), content_set="votes", content_key="/b", visitor_id="v1", value=1)
        # stars: r1 edited the same day (4 → 2)
        s["r1"] = events.create("rating", at(1), content_set="stars", visitor_id="v1", value=4, rating_scale=5)
        events.add(s["r1"], "edit", "rating", at(1, "15:05:00"), content_set="stars", visitor_id="v1", value=2, rating_scale=5)
        s["r2"] = events.create("rating", at(3), content_set="stars", visitor_id="v2", value=5, rating_scale=5)
        # likes: a set that lets a visitor like twice
        s["l1"] = events.create("like", at(1), content_set="likes", visitor_id="v1", value=1)
        s["l2"] = events.create("like", at(1, "16:00:00"), content_set="likes", visitor_id="v1", value=1)
        # reactions with the set's own polarities
        s["x1"] = events.create("reaction", at(1), content_set="reactions", visitor_id="v1", reaction="heart")
        s["x2"] = events.create("reaction", at(2), content_set="reactions", visitor_id="v2", reaction="angry")
        s["x3"] = events.create("reaction", at(3), content_set="reactions", visitor_id="v3", reaction="meh")
        # messages: one visitor may leave several
        s["m1"] = events.create("message", at(2), content_set="notes", visitor_id="v1", message="I love this page, it is great!")
        s["m2"] = events.create("message", at(3), content_set="notes", visitor_id="v1", message="This is terrible and broken.")
        s["m3"] = events.create("message", at(3, "16:00:00"), content_set="notes", visitor_id="v2", message="Thanks, very helpful!")
        s["u1"] = events.create("updown", at(3), content_set="thumbs", content_key="/b", visitor_id="v1", value=1)
        return events

    def phase_b(self) -> RawEvents:
        events = RawEvents(project_id=self.project_id)
        s = self.signals
        # old signals change their creation days
        events.add(s["r1"], "edit", "rating", at(4), content_set="stars", visitor_id="v1", value=3, rating_scale=5)
        events.add(s["x1"], "revoke", "reaction", at(4), content_set="reactions", visitor_id="v1")
        events.add(s["m1"], "edit", "message", at(4), content_set="notes", visitor_id="v1", message="Actually this is awful.")
        # a late retry of an operation already built
        events.add(s["s2"], "create", "yesno", at(4, "09:00:00"), content_set="votes", visitor_id="v2", value=-1, idempotency_key="s2-create")
        s["s5"] = events.create("yesno", at(4), content_set="votes", visitor_id="v5", value=1)
        # v2 votes again: s2 (D1) is retired
        s["s6"] = events.create("yesno", at(5), content_set="votes", visitor_id="v2", value=1)
        events.create("like", at(5), content_set="likes", visitor_id="crawler", value=1, is_bot=True)
        # outside the second build's range
        s["s7"] = events.create("yesno", at(6), content_set="votes", visitor_id="v7", value=1)
        return events


def content_day_rows(client, project_id: str) -> dict[tuple, dict]:
    rows = client.query(
        """
        SELECT content_set, content_key, day, signal_type, signals, value_counts, value_sum,
               positive_signals, neutral_signals, negative_signals
        FROM analytics.agg_content_daily
        WHERE project_id = {project:String}
        """,
        parameters={"project": project_id},
    ).named_results()
    return {
        (row["content_set"], row["content_key"], row["day"], row["signal_type"]): {
            "signals": row["signals"],
            "value_counts": dict(row["value_counts"]),
            "value_sum": row["value_sum"],
            "sentiment": (row["positive_signals"], row["neutral_signals"], row["negative_signals"]),
        }
        for row in rows
    }
