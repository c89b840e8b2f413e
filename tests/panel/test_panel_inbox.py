"""POST /v1/projects/{id}/signals/triage: many messages at once, all or none, by role."""

from __future__ import annotations

import uuid

import pytest

from tests.api.test_management import api, bearer, error_of, event, insert_events, project  # noqa: F401  (fixtures)
from tests.fixtures.control_db import control_settings  # noqa: F401


@pytest.fixture()
def messages(project, ch):
    pid = project["id"]
    ids = [uuid.uuid4() for _ in range(3)]
    vote = uuid.uuid4()
    insert_events(ch, [event(pid, "feedback", "message", signal_id=signal_id, message=f"note {n}") for n, signal_id in enumerate(ids)])
    insert_events(ch, [event(pid, "votes", "updown", signal_id=vote, value=1)])
    return [str(signal_id) for signal_id in ids], str(vote)


def triage_states(api, project, state: str) -> set[str]:
    page = api.get(f"/v1/projects/{project['id']}/signals", params={"triage": state}, headers=bearer(project["secret"])).json()
    return {signal["signal_id"] for signal in page["signals"]}


def test_bulk_triage_sets_every_state_at_once(api, project, messages):
    ids, _ = messages
    path = f"/v1/projects/{project['id']}/signals/triage"
    auth = bearer(project["secret"])
    done = api.post(path, json={"signal_ids": ids[:2], "state": "archived"}, headers=auth)
    assert done.status_code == 200, done.text
    assert [(entry["signal_id"], entry["state"]) for entry in done.json()["updated"]] == [(ids[0], "archived"), (ids[1], "archived")]
    assert triage_states(api, project, "archived") == set(ids[:2])
    assert triage_states(api, project, "new") == {ids[2]}

    again = api.post(path, json={"signal_ids": [ids[1], ids[2], ids[1]], "state": "read"}, headers=auth)
    assert [entry["signal_id"] for entry in again.json()["updated"]] == [ids[1], ids[2]]
    assert triage_states(api, project, "read") == {ids[1], ids[2]}
    assert triage_states(api, project, "archived") == {ids[0]}


def test_bulk_triage_is_all_or_none(api, project, messages):
    ids, vote = messages
    path = f"/v1/projects/{project['id']}/signals/triage"
    auth = bearer(project["secret"])
    missing = str(uuid.uuid4())
    unknown = api.post(path, json={"signal_ids": [ids[0], missing], "state": "read"}, headers=auth)
    assert unknown.status_code == 404 and missing in error_of(unknown)[1]
    not_message = api.post(path, json={"signal_ids": [ids[0], vote], "state": "read"}, headers=auth)
    assert not_message.status_code == 409 and vote in error_of(not_message)[1]
    assert triage_states(api, project, "read") == set()
    assert "state: must be one of" in error_of(api.post(path, json={"signal_ids": ids, "state": "done"}, headers=auth))[1]
    assert "signal_ids:" in error_of(api.post(path, json={"signal_ids": [], "state": "read"}, headers=auth))[1]
    assert api.post(path, json={"signal_ids": ids, "state": "read"}, headers=bearer(project["public"])).status_code == 403
