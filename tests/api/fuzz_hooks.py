"""Schemathesis hooks of ``tests/api/test_api_fuzz.py`` (loaded by the CLI through its config file).

The fuzzer authenticates with the project's own keys; revoking one of them would turn every later
call into a 401 and quietly end the run's reach. A revoke of one of those keys (``FUZZ_KEPT_KEY_IDS``)
is sent for a decoy key of another project instead (``FUZZ_DECOY_KEY_ID``): the route still runs.
"""

from __future__ import annotations

import os

import schemathesis

KEPT = set(filter(None, os.environ.get("FUZZ_KEPT_KEY_IDS", "").split(",")))
DECOY = os.environ.get("FUZZ_DECOY_KEY_ID", "1")


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    if case.method.upper() == "DELETE" and case.path.endswith("/keys/{key_id}"):
        if str((case.path_parameters or {}).get("key_id")) in KEPT:
            case.path_parameters["key_id"] = DECOY
