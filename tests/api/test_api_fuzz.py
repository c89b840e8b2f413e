"""Schemathesis over the whole OpenAPI document against the API as ``feelback up`` serves it.

One ``schemathesis run`` (its own CLI, as a user would run it) with the coverage phase (boundary
and just-out-of-bounds values of every documented parameter and body field), the fuzzing phase and
the stateful phase (chains of calls along the links it infers: create a key, then revoke it, ...).
Every operation is called with the credentials it takes: the admin token for ``/v1/projects``, a
real project's secret key for everything under it (its ``project_id`` pinned, so the calls reach
the routes' own code), the public key for ingest, stats and the compatibility routes, a signed-in
session (cookie and CSRF token) of an organization's owner for ``/v1/me``, ``/v1/organizations``
and ``/v1/invitations``; the download link and ``/v1/auth`` take none.

- Every operation must never answer 5xx.
- The public ingest operations must also answer as documented (status codes, content types,
  bodies, headers, ``Allow`` on a 405) and refuse schema-invalid input.

Sized for the suite: a fixed seed, a few examples per operation and a time budget (``MAX_SECONDS``).
``DELETE /v1/projects/{project_id}`` is left out (it would delete the project every other call
uses); ``tests/api/test_management.py`` covers it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from feelback.control_plane.db import session_scope
from feelback.control_plane.models import ApiKey, ExportFormat, ExportRequest, RecapFrequency, RecapSubscription
from feelback.control_plane.organizations import create_organization
from feelback.control_plane.projects import create_project, issue_key
from feelback.control_plane.users import create_user
from feelback.settings import Settings
from ingest_api.app import create_app
from tests.fixtures.control_db import fresh_control_db
from tests.api.ingest_support import BROWSER_UA, CONTENT_SETS, REPO, ApiProcess, ingest_settings, seed_project

ADMIN_TOKEN = "fuzz-admin-token"
MAX_EXAMPLES = 5
MAX_SECONDS = 45  # per control-plane DB; fuzzing and stateful repeat until the budget is spent
INGEST = r"^/v1/(signals|batch)"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
DECOY_ROWS = 50
LEFT_OUT = "DELETE /v1/projects/{project_id}"
OPERATIONS = {f"{method.upper()} {path}" for path, methods in create_app(Settings()).openapi()["paths"].items() for method in methods}
OWNER_EMAIL, OWNER_PASSWORD = "fuzz-owner@example.com", "fuzz owner's long password"
CALENDAR_ENDS = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0999-12-31T23:59:59Z"]
CALENDAR_BINDINGS = "\n".join(
    f'"{name}" = {{ dictionary = "calendar_ends", probability = 0.2 }}'
    for name in ("body.occurred_at", "query.occurred_at", "query.since", "query.until", "body.from", "body.to")
)


# A value of each type as the API stores it: the seeded rows must be ones the API could have written
# (a seeded rating without a value once failed the dbt build of fct_signals in later tests).
SEED_VALUES = {
    "yesno": lambda config: {"value": 1},
    "updown": lambda config: {"value": -1},
    "rating": lambda config: {"value": 1, "rating_scale": config.get("scale", 5)},
    "like": lambda config: {"value": 1},
    "reaction": lambda config: {"reaction": "heart"},
    "message": lambda config: {"message": "seed"},
}
# Creates and edits whose value their type cannot have (dbt_project/macros/value_fits_type.sql).
UNFIT_ROWS = """
SELECT signal_type, value, rating_scale, reaction FROM raw.feedback_events
WHERE project_id = {p:String} AND operation != 'revoke' AND NOT ifNull(multiIf(
    signal_type IN ('yesno', 'updown'), value IN (1, -1),
    signal_type = 'rating', value BETWEEN 1 AND rating_scale,
    signal_type = 'like', value = 1,
    signal_type = 'reaction', reaction != '',
    message != ''), 0)
"""


def _decoys(settings) -> int:
    """Rows of another project that take the smallest ids, so that small fuzzed ids find something
    that is not the fuzzed project's; returns a decoy key's id."""
    with session_scope(settings) as session:
        decoy = create_project(session, "Fuzz decoy").project
        for number in range(DECOY_ROWS):
            key, _ = issue_key(session, decoy, "public", f"decoy {number}")
            session.add(RecapSubscription(project_id=decoy.id, email=f"decoy{number}@example.com", frequency=RecapFrequency.weekly))
            session.add(ExportRequest(project_id=decoy.id, format=ExportFormat.csv, filters={}))
        session.flush()
        return key.id


def _owner(settings) -> tuple[str, str]:
    """A verified account owning an organization (and a decoy one, see fuzz_hooks): (org id, decoy org id)."""
    with session_scope(settings) as session:
        user = create_user(session, OWNER_EMAIL, password=OWNER_PASSWORD, name="Fuzz owner", verified=True)
        return create_organization(session, "Fuzz org", user).id, create_organization(session, "Fuzz decoy org", user).id


def _signed_in(url: str) -> tuple[str, str]:
    """(session cookie, CSRF token) of the owner, signed in over HTTP as the panel does."""
    answer = httpx.post(f"{url}/v1/auth/sign-in", json={"email": OWNER_EMAIL, "password": OWNER_PASSWORD}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.cookies["feelback_session"], answer.json()["csrf_token"]


def _key_ids(settings, project_id: str) -> list[int]:
    with session_scope(settings) as session:
        return list(session.scalars(select(ApiKey.id).where(ApiKey.project_id == project_id)))


def _one_signal_per_set(clickhouse_server, project_id: str) -> None:
    """A signal in every content set: deleting one or changing its type is then a 409, so the
    ingest routes keep the sets the dictionaries below name."""
    import datetime as dt

    from tests.pipelines.raw_events import RawEvents
    from warehouse.client import get_client

    events = RawEvents(project_id=project_id)
    for key, (signal_type, config, _) in CONTENT_SETS.items():
        events.create(signal_type, dt.datetime.now(dt.UTC), content_set=key, **SEED_VALUES[signal_type](config))
    client = get_client()
    events.insert(client)
    client.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, clickhouse_server, tmp_path_factory):
    """The API on each control-plane DB in turn: the embedded default and production's (they refuse
    different values: SQLite integers past 64 bits, PostgreSQL NUL characters in text)."""
    home = tmp_path_factory.mktemp(f"api-fuzz-{request.param}")
    settings = ingest_settings(home, spool_drain_interval_ms=100).model_copy(update={"database_url": fresh_control_db(request.param, home)})
    decoy_key = _decoys(settings)
    project = seed_project(settings)
    _one_signal_per_set(clickhouse_server, project.id)
    org, decoy_org = _owner(settings)
    process = ApiProcess(settings, clickhouse_server.url, FEELBACK_ADMIN_TOKEN=ADMIN_TOKEN).start()
    cookie, csrf = _signed_in(process.url)
    kept = ",".join(str(key_id) for key_id in _key_ids(settings, project.id))
    hook_env = {"FUZZ_BACKEND": request.param, "FUZZ_KEPT_KEY_IDS": kept, "FUZZ_DECOY_KEY_ID": str(decoy_key), "FUZZ_KEPT_ORG_ID": org, "FUZZ_DECOY_ORG_ID": decoy_org}
    yield process, project, Session(org, cookie, csrf), hook_env
    process.kill()


@dataclass(frozen=True)
class Session:
    org_id: str
    cookie: str
    csrf: str


def _config(project, session: Session) -> str:
    """schemathesis.toml: credentials per operation, the project pinned, checks per kind of route."""
    return f"""
seed = 20261206
max-failures = 40
hooks = "tests.api.fuzz_hooks"

[generation]
max-examples = {MAX_EXAMPLES}
mode = "all"

[dictionaries.content_sets]
values = {json.dumps(list(CONTENT_SETS))}

# A value most content sets take (updown, rating, like: 1; yesno: "yes"; reaction: "heart").
[dictionaries.signal_values]
values = [1, "yes", "heart"]

# Times at the ends of the calendar, where a conversion to UTC overflows (issue 13).
[dictionaries.calendar_ends]
values = {json.dumps(CALENDAR_ENDS)}

[parameters]
"path.project_id" = "{project.id}"
"path.public_key" = "{project.public_key}"
"path.org_id" = "{session.org_id}"
"query.key" = "{project.public_key}"
"body.content_set" = {{ dictionary = "content_sets", probability = 0.8 }}
"path.content_set" = {{ dictionary = "content_sets", probability = 0.8 }}
"body.value" = {{ dictionary = "signal_values", probability = 0.6 }}
{CALENDAR_BINDINGS}

[checks]
enabled = false
not_a_server_error.enabled = true

[phases.stateful]
max-steps = 6

[[operations]]
include-path-regex = "^/v1/projects/"
headers = {{ Authorization = "Bearer {project.secret_key}" }}

[[operations]]
include-path = "/v1/projects"
headers = {{ Authorization = "Bearer {ADMIN_TOKEN}" }}

[[operations]]
include-path-regex = "^/v1/(me|organizations|invitations)"
headers = {{ Cookie = "feelback_session={session.cookie}", X-CSRF-Token = "{session.csrf}" }}

[[operations]]
include-path-regex = "^/v1/(signals|batch|stats|widget-config|key|compat)"
headers = {{ X-Feelback-Key = "{project.public_key}", User-Agent = "{BROWSER_UA}" }}

# A body the schema allows may still break its content set's own rules (a reaction the set does not
# offer): that is a documented 422 invalid_signal, so "schema-valid means accepted" is not checked.
[[operations]]
include-path-regex = "{INGEST}"
checks.enabled = true
checks.positive_data_acceptance.enabled = false
"""


def test_fuzzed_requests_get_documented_answers_never_5xx(served, ch, tmp_path):
    process, project, session, hook_env = served
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(project, session))
    report = REPO / "test-artifacts" / f"api-fuzz-{hook_env['FUZZ_BACKEND']}.ndjson"  # kept for reading after a failure
    report.parent.mkdir(exist_ok=True)
    answers, acknowledgements = tmp_path / "answers.tsv", tmp_path / "acknowledged.txt"
    command = [
        str(SCHEMATHESIS), "--no-color", "--config-file", str(config), "run", f"{process.url}/openapi.json",
        "--phases", "coverage,fuzzing,stateful", "--max-time", str(MAX_SECONDS), "--workers", "1",
        "--exclude-name", LEFT_OUT,
        "--report", "ndjson", "--report-ndjson-path", str(report),
    ]  # fmt: skip
    began = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=MAX_SECONDS + 120, cwd=tmp_path, env={**os.environ, **hook_env, "FUZZ_ANSWERS": str(answers), "FUZZ_ACKNOWLEDGED": str(acknowledgements), "NO_COLOR": "1", "PYTHONPATH": str(REPO)})
    took = time.monotonic() - began
    output = run.stdout + run.stderr
    log = process.log.read_text() if process.log.exists() else ""
    assert run.returncode == 0, f"schemathesis found failures in {took:.0f} s:\n{output[-20000:]}\n--- API log ---\n{log[-5000:]}"
    assert "Traceback" not in log, log[-5000:]

    # It reached every kind of route, with working credentials, in every phase.
    phases = {
        event["PhaseFinished"]["phase"]["name"]
        for event in map(json.loads, report.read_text().splitlines())
        if "PhaseFinished" in event and event["PhaseFinished"]["status"] == "success"
    }
    assert {"coverage", "fuzzing", "stateful"} <= phases, phases
    reached: dict[str, set[str]] = {}
    for line in answers.read_text().splitlines():
        label, status, code = line.split("\t")
        reached.setdefault(label, set()).update({status, code})
    assert not OPERATIONS - {LEFT_OUT} - set(reached), sorted(OPERATIONS - set(reached))
    for label, answer in (
        ("GET /v1/projects", "200"),  # the admin token
        ("GET /v1/projects/{project_id}/signals", "200"),  # the secret key
        ("POST /v1/projects/{project_id}/keys", "201"),
        ("GET /v1/organizations/{org_id}/members", "200"),  # the session
        ("POST /v1/signals", "invalid_signal"),  # the public key, and a real content set's own rules
        ("GET /v1/stats/{content_set}", "200"),
        ("GET /v1/exports/{export_id}/download", "invalid_link"),  # no credentials: the link is refused
    ):
        assert answer in reached.get(label, set()), (label, reached.get(label))

    # Every operation the ingest routes acknowledged reached ClickHouse, and only with values its
    # type can have (the dbt marts key every one). How many the fuzzer gets accepted depends on how
    # far it gets in its time budget, so the stored rows are checked against its answers.
    assert _spool_drained(process.settings.home), "the API's spool was not drained into ClickHouse in 60 s"
    stored = {str(row[0]) for row in ch.query("SELECT DISTINCT signal_id FROM raw.feedback_events WHERE project_id = {p:String}", parameters={"p": project.id}).result_rows}
    assert len(stored) >= len(CONTENT_SETS), stored  # the seeded signals
    acknowledged = set(acknowledgements.read_text().split()) if acknowledgements.exists() else set()
    assert acknowledged <= stored, sorted(acknowledged - stored)
    unfit = ch.query(UNFIT_ROWS, parameters={"p": project.id}).result_rows
    assert unfit == [], unfit


def _spool_drained(home: Path, timeout: float = 60.0) -> bool:
    """Whether every segment the API spooled reached ClickHouse (moved to drained/) within ``timeout``:
    polled, because on a loaded machine the drainer may lag the answers by seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lanes = list((home / "spool").glob("lane-*"))
        if lanes and not any(_size(segment) for lane in lanes for segment in lane.glob("*.seg")):
            return True
        time.sleep(0.2)
    return False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # drained meanwhile
        return 0
