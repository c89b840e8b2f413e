"""The browser SDK's built files at a versioned path: ``/sdk/v1/feelback.js`` (script tag) and
``/sdk/v1/feelback.mjs`` (ES module), built into ``sdk/dist/v1`` by ``make install``.

Long-lived caching (a week, then revalidated by ETag), gzip when the browser takes it, and CORS
for every origin (module scripts and subresource integrity need it), so a site may load them from
the API's origin or through its own proxy.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response

from ingest_api.errors import not_found

DIST = Path(__file__).resolve().parents[2] / "sdk" / "dist" / "v1"
FILES = ("feelback.js", "feelback.mjs")
CACHE = "public, max-age=604800, stale-while-revalidate=86400"

router = APIRouter(prefix="/sdk", tags=["sdk"])


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    etag: str
    mtime: float


_assets: dict[str, Asset] = {}


def asset(name: str, dist: Path = DIST) -> Asset:
    """The built file (read once per build), refused with 404 naming the fix when it is not built."""
    path = dist / name
    if name not in FILES or not path.is_file():
        raise not_found(f"no SDK file {name!r}" if name not in FILES else "the SDK is not built: run `make install` (npm ci && npm run build in sdk/)")
    mtime = path.stat().st_mtime
    known = _assets.get(name)
    if known is None or known.mtime != mtime:
        body = path.read_bytes()
        known = _assets[name] = Asset(body, gzip.compress(body, 9), f'"{hashlib.sha256(body).hexdigest()[:20]}"', mtime)
    return known


@router.get(
    "/v1/{name}",
    summary="The browser SDK (feelback.js for a script tag, feelback.mjs for bundlers)",
    responses={200: {"content": {"text/javascript": {}}}, 304: {"description": "Not modified (ETag)"}, 404: {"description": "Unknown file, or the SDK is not built"}},
)
async def sdk_file(name: str, request: Request) -> Response:
    found = asset(name)
    headers = {
        "Cache-Control": CACHE,
        "ETag": found.etag,
        "Vary": "Accept-Encoding",
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if found.etag in (request.headers.get("if-none-match") or "").replace("W/", "").split(", "):
        return Response(status_code=304, headers=headers)
    body = found.body
    if "gzip" in request.headers.get("accept-encoding", ""):
        body, headers["Content-Encoding"] = found.gzipped, "gzip"
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
