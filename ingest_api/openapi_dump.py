"""Writes the API's OpenAPI schema as JSON, without a running server (the panel's build types its client from it).

Usage: ``python -m ingest_api.openapi_dump [PATH]`` (stdout when no path is given).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from feelback.settings import Settings
from ingest_api.app import create_app


def openapi_schema() -> dict:
    # A throwaway home: building the schema opens no store, but the app's settings need somewhere.
    with tempfile.TemporaryDirectory() as home:
        return create_app(Settings(home=Path(home))).openapi()


def main(argv: list[str]) -> None:
    text = json.dumps(openapi_schema(), indent=1, sort_keys=True) + "\n"
    if argv:
        Path(argv[0]).write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
