"""FEELBACK_API_OPENTELEMETRY: FastAPI's native OpenTelemetry is off unless asked for.

Each case runs in its own interpreter: OpenTelemetry's global tracer provider can be set only once.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    from opentelemetry import trace
    from fastapi.testclient import TestClient
    from feelback.settings import Settings
    from ingest_api.app import create_app

    started = []

    class RecordingTracer(trace.NoOpTracer):
        def start_span(self, name, *args, **kwargs):
            started.append(name)
            return super().start_span(name, *args, **kwargs)

        def start_as_current_span(self, name, *args, **kwargs):
            started.append(name)
            return super().start_as_current_span(name, *args, **kwargs)

    class RecordingProvider(trace.TracerProvider):
        def get_tracer(self, *args, **kwargs):
            return RecordingTracer()

    trace.set_tracer_provider(RecordingProvider())
    settings = Settings(home=sys.argv[1], api_opentelemetry=sys.argv[2] == "on")
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
    print(len(started))
    """
)


@pytest.mark.parametrize(("switch", "spans"), [("off", False), ("on", True)])
def test_requests_are_traced_only_when_opentelemetry_is_switched_on(tmp_path, switch, spans):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), switch], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (int(done.stdout.split()[-1]) > 0) is spans
