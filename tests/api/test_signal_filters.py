"""The listing's message filters by tag and by sentiment, against the real ClickHouse and VADER's scores."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from ingest_api.app import create_app
from pipelines.defs.sentiment.scoring import score_messages
from tests.api.test_management import api, bearer, error_of, event, insert_events, project  # noqa: F401  (fixtures)
from tests.fixtures.control_db import control_settings  # noqa: F401

T1 = dt.datetime(2025, 4, 7, 9, 0, tzinfo=dt.UTC)  # a day of this module's own: the scoring below reads only it
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture()
def inbox(api, project, ch):
    """Two feedback forms and their messages, scored as the pipeline scores them (but the last one)."""
    pid, auth = project["id"], bearer(project["secret"])
    sets = f"/v1/projects/{pid}/content-sets"
    for key, tags in (("feedback", ["idea", "bug", "praise"]), ("survey", ["ux"])):
        created = api.post(sets, json={"key": key, "signal_type": "message", "config": {"tags": tags}}, headers=auth)
        assert created.status_code == 201, created.text
    ids = {name: uuid.uuid4() for name in ("loved", "broken", "plain", "turned", "late", "survey")}
    insert_events(ch, [
        event(pid, "feedback", "message", signal_id=ids["loved"], message="I love this guide, it is wonderful", tags=["praise"], at=T1),
        event(pid, "feedback", "message", signal_id=ids["broken"], message="The search is broken and awful", tags=["bug"], at=T1 + MINUTE),
        event(pid, "feedback", "message", signal_id=ids["plain"], message="The page lists the steps", tags=["idea", "bug"], at=T1 + 2 * MINUTE),
        # Scored twice (its create and its edit): its current text is the edit's.
        event(pid, "feedback", "message", signal_id=ids["turned"], message="This is great", at=T1 + 3 * MINUTE),
        event(pid, "feedback", "message", signal_id=ids["turned"], operation="edit", message="This is terrible", at=T1 + 4 * MINUTE),
        event(pid, "survey", "message", signal_id=ids["survey"], message="Awful, confusing menus", tags=["ux"], at=T1 + 5 * MINUTE),
        event(pid, "votes", "yesno", value=1, at=T1 + 6 * MINUTE),
    ])  # fmt: skip
    assert score_messages(ch, T1, T1 + dt.timedelta(hours=1)).scored >= 6
    insert_events(ch, [event(pid, "feedback", "message", signal_id=ids["late"], message="Excellent work", tags=["praise"], at=T1 + 7 * MINUTE)])
    return {name: str(signal_id) for name, signal_id in ids.items()}


def listed(api, project, **params) -> list[str]:
    response = api.get(f"/v1/projects/{project['id']}/signals", params=params, headers=bearer(project["secret"]))
    assert response.status_code == 200, response.text
    return [signal["signal_id"] for signal in response.json()["signals"]]


def test_sentiment_filter_uses_the_score_of_the_current_text(api, project, inbox):
    assert listed(api, project, sentiment="positive") == [inbox["loved"]]
    assert listed(api, project, sentiment="negative") == [inbox["survey"], inbox["turned"], inbox["broken"]]
    assert listed(api, project, sentiment="neutral") == [inbox["plain"]]
    assert listed(api, project, sentiment="negative", content_set="feedback", since=(T1 + MINUTE).isoformat()) == [inbox["turned"], inbox["broken"]]
    assert listed(api, project, sentiment="negative", until=(T1 + MINUTE).isoformat()) == []

    everything = api.get(f"/v1/projects/{project['id']}/signals", headers=bearer(project["secret"])).json()["signals"]
    labels = {signal["signal_id"]: signal["sentiment"] for signal in everything}
    assert labels[inbox["loved"]] == "positive" and labels[inbox["turned"]] == "negative"
    assert labels[inbox["late"]] is None  # not scored yet: in no sentiment's list
    assert [signal["sentiment"] for signal in everything if signal["signal_type"] == "yesno"] == [None]

    first = api.get(f"/v1/projects/{project['id']}/signals", params={"sentiment": "negative", "limit": 2}, headers=bearer(project["secret"])).json()
    rest = listed(api, project, sentiment="negative", limit=2, cursor=first["next_cursor"])
    assert [signal["signal_id"] for signal in first["signals"]] + rest == [inbox["survey"], inbox["turned"], inbox["broken"]]


def test_tag_filter_takes_any_of_the_configured_tags(api, project, inbox):
    assert listed(api, project, tag="bug") == [inbox["plain"], inbox["broken"]]
    assert listed(api, project, tag=["praise", "idea"]) == [inbox["late"], inbox["plain"], inbox["loved"]]
    assert listed(api, project, tag=["bug", "bug"], sentiment="negative") == [inbox["broken"]]
    assert listed(api, project, tag="ux", content_set="survey", triage="new") == [inbox["survey"]]
    assert listed(api, project, tag="praise", q="excellent") == [inbox["late"]]


def test_bad_filters_are_refused_in_words(api, project, inbox):
    path, auth = f"/v1/projects/{project['id']}/signals", bearer(project["secret"])

    def refusal(**params) -> str:
        response = api.get(path, params=params, headers=auth)
        assert response.status_code == 422, response.text
        return error_of(response)[1]

    assert refusal(tag="nope") == "tag: 'nope' is not a tag of the project's feedback forms (tags: idea, bug, praise, ux)"
    assert refusal(tag="bug", content_set="survey") == "tag: 'bug' is not a tag of content set 'survey' (tags: ux)"
    assert refusal(tag="idea", content_set="votes") == "tag: 'idea' is not a tag of content set 'votes' (tags: (none are configured))"
    assert refusal(tag="x" * 300).startswith("tag: 'xxxxxxxx") and len(refusal(tag="x" * 300)) < 200
    assert refusal(tag=[f"t{n}" for n in range(51)]) == "tag: at most 50 tags may be asked at once (got 51)"
    assert "sentiment: must be one of" in refusal(sentiment="happy")
    assert refusal(sentiment="positive", type="rating") == "sentiment: only message signals are filtered by sentiment (type=rating was asked)"
    assert refusal(tag="bug", type="yesno") == "tag: only message signals are filtered by tag (type=yesno was asked)"


def test_the_filters_are_in_the_openapi_schema(control_settings):  # noqa: F811
    schema = create_app(control_settings).openapi()
    parameters = {p["name"]: p for p in schema["paths"]["/v1/projects/{project_id}/signals"]["get"]["parameters"]}
    tag = parameters["tag"]["schema"]
    assert tag["anyOf"][0] == {"type": "array", "items": {"type": "string"}} and "any of these tags" in parameters["tag"]["description"]
    assert parameters["sentiment"]["schema"]["anyOf"][0] == {"$ref": "#/components/schemas/SentimentLabel"}
    assert schema["components"]["schemas"]["SentimentLabel"]["enum"] == ["positive", "neutral", "negative"]
    assert "sentiment" in schema["components"]["schemas"]["SignalOut"]["properties"]
