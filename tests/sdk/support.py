"""Shared set-up for the SDK's browser tests: the real API (as `feelback up` runs it) with the demo
project, and a second origin that serves test pages with any headers (a site embedding the SDK)."""

from __future__ import annotations

import mimetypes
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from feelback.demo import Demo
from tests.polling import DEADLINE
from tests.api.ingest_support import BROWSER_UA

REPO = Path(__file__).resolve().parents[2]
SDK = REPO / "sdk"
DIST = SDK / "dist" / "v1"
AXE = SDK / "node_modules" / "axe-core" / "axe.min.js"
QUICK_SET = "sdk-quick"  # yes/no, edit window of 1 s
TEN_SET = "sdk-ten"  # ratings from 1 to 10
WIDGETS = {
    "yesno": "demo-yesno",
    "updown": "demo-updown",
    "rating": "demo-rating",
    "like": "demo-like",
    "reactions": "demo-reactions",
    "form": "demo-form",
}


def ensure_built() -> None:
    """The SDK as `make install` builds it (built here when a developer runs the tests without it)."""
    sources = [path.stat().st_mtime for path in (SDK / "src").glob("*.ts")]
    built = DIST / "feelback.js"
    if not built.exists() or built.stat().st_mtime < max(sources):
        if not (SDK / "node_modules").exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=SDK, check=True, capture_output=True)
        subprocess.run(["npm", "run", "build"], cwd=SDK, check=True, capture_output=True)


class PageServer:
    """Serves registered pages (path -> (html, headers)), and the files of mounted folders, from its
    own loopback origin."""

    def __init__(self) -> None:
        pages: dict[str, tuple[str, dict[str, str]]] = {}
        self.pages = pages
        mounts: dict[str, Path] = {}
        self.mounts = mounts

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                page = pages.get(path) or _mounted_file(mounts, path)
                if page is None:
                    self.send_error(404)
                    return
                body, headers = page[0].encode(), dict(page[1])
                self.send_response(200)
                self.send_header("Content-Type", headers.pop("Content-Type", "text/html; charset=utf-8"))
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, path: str, html: str, headers: dict[str, str] | None = None) -> str:
        self.pages[path] = (html, headers or {})
        return self.url + path

    def mount(self, prefix: str, folder: Path) -> str:
        """Serve ``folder``'s files under ``prefix`` (``/x/`` serves ``/x/index.html`` too)."""
        self.mounts[prefix] = folder
        return self.url + prefix

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _mounted_file(mounts: dict[str, Path], path: str) -> tuple[str, dict[str, str]] | None:
    for prefix, folder in mounts.items():
        if path.startswith(prefix):
            file = (folder / path.removeprefix(prefix)).resolve()
            if file.is_dir():
                file = file / "index.html"
            if file.is_relative_to(folder.resolve()) and file.is_file():
                content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                return file.read_text(), {"Content-Type": content_type + "; charset=utf-8"}
    return None


@dataclass
class SdkStack:
    api: str
    demo: Demo
    pages: PageServer

    def page_html(self, body: str, *, script_attrs: str = "", lang: str = "en", head: str = "") -> str:
        return (
            f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>SDK test</title>{head}'
            f'<script src="{self.api}/sdk/v1/feelback.js" data-key="{self.demo.public_key}" {script_attrs} defer></script>'
            f"</head><body><main><h1>Test page</h1>{body}</main></body></html>"
        )

    def stats(self, content_set: str, content: str) -> dict:
        response = httpx.get(
            f"{self.api}/v1/stats/{content_set}/batch",
            params={"content": content, "key": self.demo.public_key},
            headers={"User-Agent": BROWSER_UA},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["contents"][content]

    def wait_stats(
        self, content_set: str, content: str, expected: dict | None, total: int | None = None, timeout: float = DEADLINE
    ) -> dict:
        """The content's non-zero counts and total once they equal ``expected`` (or the total equals
        ``total``); the live part lags acknowledgements by about 2 s, more on a busy machine (it
        failed once in CI at 10 s: the shared deadline of tests/polling.py gives room)."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats(content_set, content)
            counts = {value: count for value, count in stats["counts"].items() if count}
            if (counts == expected if expected is not None else stats["total"] == total) or time.monotonic() > deadline:
                return {"counts": counts, "total": stats["total"]}
            time.sleep(0.25)
