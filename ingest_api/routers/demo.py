"""``/demo/``: one live widget of each type on the demo project (``feelback.demo``), light and dark."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from feelback.demo import DEMO_PATH, DEMO_SETS, read_demo

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Feelback widgets demo</title>
<link rel="stylesheet" href="/demo/demo.css">
<script src="/sdk/v1/feelback.js" data-key="{key}" defer></script></head>
<body><main>
<h1>Feelback widgets</h1>
<p>Every widget below is live on the demo project <code>{project}</code>: click, change your mind, undo, reload.
Counts come from the stats API. Add one to any page with
<code>&lt;script src="{origin}/sdk/v1/feelback.js" data-key="{key}" defer&gt;&lt;/script&gt;</code>.</p>
<section class="light" data-theme="light"><h2>Light</h2>{widgets}</section>
<section class="dark" data-theme="dark"><h2>Dark</h2>{dark_widgets}</section>
</main></body></html>
"""

CSS = """body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1f2328}
main{max-width:52rem;margin:auto;padding:1rem 1.5rem}code{font-size:.9em;word-break:break-all}
section{border-radius:10px;padding:.5rem 1.5rem 1.5rem;margin:1.5rem 0}
.light{background:#fff}.dark{background:#0d1117;color:#e6edf3}
h3{font-size:1rem;margin:1.25rem 0 .4rem}h3 code{font-weight:normal}
"""


def _widgets(dark: bool) -> str:
    rows = []
    for set_key, (element, _, _) in DEMO_SETS.items():
        content = "/demo/dark" if dark else "/demo/"
        rows.append(f'<h3>&lt;{element}&gt; <code>set="{set_key}"</code></h3><{element} set="{set_key}" content="{content}"></{element}>')
    return "\n".join(rows)


@router.get(DEMO_PATH, response_class=HTMLResponse)
async def demo_page(request: Request) -> HTMLResponse:
    demo = read_demo(request.app.state.settings)
    if demo is None:
        return HTMLResponse("<!doctype html><title>No demo</title><p>No demo project yet: run <code>feelback demo</code> "
                            "(<code>feelback up</code> does it too).</p>", status_code=404)  # fmt: skip
    origin = str(request.base_url).rstrip("/")
    page = PAGE.format(key=html.escape(demo.public_key), project=html.escape(demo.project_id), origin=html.escape(origin),
                       widgets=_widgets(False), dark_widgets=_widgets(True))  # fmt: skip
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


@router.get("/demo/demo.css")
async def demo_css() -> HTMLResponse:
    return HTMLResponse(CSS, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})
