"""Where the bench's pieces run: a function in a fresh interpreter, a coroutine on the fastest loop."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def in_own_process(module: str, function: str, arguments: list | None = None, **popen) -> subprocess.Popen:
    """``module.function()`` in a fresh interpreter (whatever the caller's ``__main__``)."""
    code = f"from {module} import {function}; {function}()"
    return subprocess.Popen([sys.executable, "-c", code, *(arguments or [])], cwd=REPO, **popen)


def run_coroutine(coroutine):
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)
