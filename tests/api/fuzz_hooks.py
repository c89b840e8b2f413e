"""Schemathesis hooks of ``tests/api/test_api_fuzz.py`` (loaded by the CLI through its config file).

The fuzzer authenticates with the project's own keys and an organization owner's session; revoking
one of those keys or deleting that organization would turn every later call into a 401 or 404 and
quietly end the run's reach. So a revoke of one of those keys (``FUZZ_KEPT_KEY_IDS``) is sent for a
decoy key of another project (``FUZZ_DECOY_KEY_ID``), and a delete of the organization
(``FUZZ_KEPT_ORG_ID``) for a decoy organization of the same owner (``FUZZ_DECOY_ORG_ID``): the routes
still run. Every answer's status and error code is appended to ``FUZZ_ANSWERS`` (a file), so the
test can tell which routes the run really reached; the signal of every operation the ingest routes
acknowledged goes to ``FUZZ_ACKNOWLEDGED``, so the test can check that each one was stored.
"""

from __future__ import annotations

import json
import os

import schemathesis

KEPT = set(filter(None, os.environ.get("FUZZ_KEPT_KEY_IDS", "").split(",")))
DECOY = os.environ.get("FUZZ_DECOY_KEY_ID", "1")
KEPT_ORG, DECOY_ORG = os.environ.get("FUZZ_KEPT_ORG_ID"), os.environ.get("FUZZ_DECOY_ORG_ID")


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    if case.method.upper() == "DELETE" and case.path.endswith("/keys/{key_id}"):
        if str((case.path_parameters or {}).get("key_id")) in KEPT:
            case.path_parameters["key_id"] = DECOY
    if case.method.upper() == "DELETE" and case.path == "/v1/organizations/{org_id}":
        if (case.path_parameters or {}).get("org_id") == KEPT_ORG:
            case.path_parameters["org_id"] = DECOY_ORG


@schemathesis.hook
def after_call(context, case, response) -> None:
    answers = os.environ.get("FUZZ_ANSWERS")
    if not answers:
        return
    try:
        code = json.loads(response.content).get("error", {}).get("code", "")
    except (ValueError, AttributeError):
        code = ""
    with open(answers, "a") as file:
        file.write(f"{case.method.upper()} {case.path}\t{response.status_code}\t{code}\n")
    acknowledged = os.environ.get("FUZZ_ACKNOWLEDGED")
    if acknowledged and response.status_code < 300 and case.path in ("/v1/signals", "/v1/signals/{signal_id}", "/v1/batch"):
        with open(acknowledged, "a") as file:
            file.writelines(f"{signal_id}\n" for signal_id in _acknowledged_signals(response))


def _acknowledged_signals(response) -> list[str]:
    """The signals of the operations an ingest answer acknowledged (a batch's 2xx results)."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return []
    answers = [result for result in body.get("results", []) if result.get("status", 500) < 300] if "results" in body else [{"body": body}]
    return [answer["body"]["signal_id"] for answer in answers if isinstance(answer.get("body"), dict) and answer["body"].get("signal_id")]
