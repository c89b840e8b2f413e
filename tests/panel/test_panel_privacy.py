"""Erasure requests over the API: what they remove, validation, roles and listing."""

from __future__ import annotations

import uuid

from tests.api.test_management import api, bearer, error_of, event, insert_events, project  # noqa: F401  (fixtures)
from tests.fixtures.control_db import control_settings  # noqa: F401


def test_preview_request_and_list(api, project, ch):
    pid, auth = project["id"], bearer(project["secret"])
    first, second = uuid.uuid4(), uuid.uuid4()
    insert_events(ch, [
        event(pid, "votes", "updown", signal_id=first, value=1, visitor_id="v-erase", content_key="/a"),
        event(pid, "votes", "updown", signal_id=first, value=-1, visitor_id="v-erase", content_key="/a", operation="edit"),
        event(pid, "votes", "updown", signal_id=second, value=1, visitor_id="v-erase", content_key="/b"),
        event(pid, "votes", "updown", value=1, visitor_id="v-other", content_key="/b"),
    ])  # fmt: skip
    path = f"/v1/projects/{pid}/erasures"
    visitor = api.get(f"{path}/preview", params={"visitor_id": "v-erase"}, headers=auth)
    assert visitor.status_code == 200, visitor.text
    assert visitor.json() == {"signals": 2, "events": 3}
    assert api.get(f"{path}/preview", params={"content_key": "/b"}, headers=auth).json() == {"signals": 2, "events": 2}

    made = api.post(path, json={"visitor_id": "v-erase"}, headers=auth)
    assert made.status_code == 202, made.text
    assert made.json()["status"] == "pending" and made.json()["impact"] == {"signals": 2, "events": 3}
    api.post(path, json={"content_key": "/b"}, headers=auth)
    listed = api.get(path, headers=auth).json()
    assert [(entry["visitor_id"], entry["content_key"]) for entry in listed] == [(None, "/b"), ("v-erase", None)]


def test_bad_requests_say_what_to_give(api, project):
    pid, auth = project["id"], bearer(project["secret"])
    path = f"/v1/projects/{pid}/erasures"
    both = api.post(path, json={"visitor_id": "v", "content_key": "/a"}, headers=auth)
    assert both.status_code == 422 and "either visitor_id or content_key" in error_of(both)[1]
    assert "either visitor_id or content_key" in error_of(api.get(f"{path}/preview", headers=auth))[1]
    lone_set = api.post(path, json={"content_set": "votes"}, headers=auth)
    assert lone_set.status_code == 422
    unknown = api.post(path, json={"content_key": "/a", "content_set": "nosuchset"}, headers=auth)
    assert unknown.status_code == 404 and "nosuchset" in error_of(unknown)[1]
    assert api.post(path, json={"visitor_id": "v"}, headers=bearer(project["public"])).status_code == 403
    assert api.get(path).status_code == 401
