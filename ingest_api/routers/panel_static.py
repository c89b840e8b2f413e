"""Serves the customers' panel (``panel/dist``, built by ``make install``) at ``/app/``.

Files under ``/app/assets/`` have content hashes in their names and are cached for a year; every
other path under ``/app/`` that is not a file gets ``index.html`` (the panel routes in the browser),
which is never cached, so a new build is picked up on the next load. Same origin as the API, so the
session cookie reaches the API. Not part of the OpenAPI schema: it is the panel, not the API.

Every answer carries a strict Content-Security-Policy (``PANEL_CSP``): the panel's scripts and styles
are its own files (Vite's build inlines none; style changes are made through the CSSOM, which
``style-src`` allows), it talks to its own origin only (the API, and the SDK for the Install screen's
live preview), frames only its own origin (the recap preview, served with a policy of its own by
``panel_recaps``) and may not be framed. Trusted Types are enforced: no DOM sink takes a plain
string (the Install preview's script URL and the SDK widgets' HTML go through their named policies).
A visitor's text that slipped into the page as HTML anyway could neither run nor load anything.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from ingest_api.errors import error_response

PANEL_DIST = Path(__file__).resolve().parents[2] / "panel" / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
PANEL_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "worker-src 'none'",
        "manifest-src 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        # DOM sinks take no plain strings: the panel's one script URL goes through its policy "panel",
        # the SDK's widgets (the Install preview) write their HTML through theirs, "feelback".
        "require-trusted-types-for 'script'",
        "trusted-types panel feelback",
    )
)
# Powerful features the panel never uses, off for it and anything it frames.
PERMISSIONS_POLICY = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
SECURITY_HEADERS = {
    "Content-Security-Policy": PANEL_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

router = APIRouter(include_in_schema=False)


def _file_in_dist(relative: str) -> Path | None:
    """The built file at ``relative`` when it exists inside the dist folder (no way out of it)."""
    if not relative:
        return None
    candidate = (PANEL_DIST / relative).resolve()
    if PANEL_DIST.resolve() not in candidate.parents or not candidate.is_file():
        return None
    return candidate


@router.get("/app")
async def panel_root() -> Response:
    return RedirectResponse("/app/", status_code=308)


@router.get("/app/{path:path}")
async def panel(path: str) -> Response:
    found = _file_in_dist(path)
    if found is not None:
        cache = IMMUTABLE if path.startswith("assets/") else NO_CACHE
        return FileResponse(found, headers={"Cache-Control": cache, **SECURITY_HEADERS})
    if path.startswith("assets/"):
        return error_response(404, "not_found", f"no panel file {path!r}")
    index = PANEL_DIST / "index.html"
    if not index.is_file():
        return error_response(
            404, "panel_not_built", "the panel is not built here: run `make install` (it runs npm ci and the panel's build)"
        )
    return FileResponse(index, headers={"Cache-Control": NO_CACHE, **SECURITY_HEADERS})
