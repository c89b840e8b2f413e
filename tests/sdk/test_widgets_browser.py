"""The widgets in Debian's Chromium against the real API: every widget clicked, changed and undone,
then the stats API shows it."""

from __future__ import annotations

import uuid

import pytest

from tests.sdk.support import WIDGETS

pytestmark = pytest.mark.usefixtures("sdk_stack")


def _content() -> str:
    return f"/t/{uuid.uuid4().hex[:12]}"


def _open(sdk_stack, page, body: str, **page_options) -> None:
    path = f"/{uuid.uuid4().hex[:8]}.html"
    page.goto(sdk_stack.pages.add(path, sdk_stack.page_html(body, **page_options)))
    page.wait_for_selector("[ready]", state="attached")


def _acked(page, selector: str, kind: str, action) -> dict:
    """Run ``action`` and return the detail of the widget's next feelback:<kind> event."""
    page.evaluate(
        """([selector, kind]) => { window.__events = window.__events || [];
        document.querySelector(selector).addEventListener('feelback:' + kind, (e) => window.__events.push([e.type, e.detail]), {once: true}); }""",
        [selector, kind],
    )
    count = page.evaluate("window.__events.length")
    action()
    page.wait_for_function(f"window.__events.length > {count}", timeout=10_000)
    event, detail = page.evaluate("window.__events[window.__events.length - 1]")
    assert event == f"feelback:{kind}", detail
    return detail


def test_yesno_click_change_undo(sdk_stack, page):
    content = _content()
    _open(sdk_stack, page, f'<feelback-yesno set="{WIDGETS["yesno"]}" content="{content}"></feelback-yesno>')
    yes = page.get_by_role("button", name="Yes")
    no = page.get_by_role("button", name="No")
    sent = _acked(page, "feelback-yesno", "sent", yes.click)
    assert sent["value"] == "yes" and sent["signal_id"]
    assert yes.get_attribute("aria-pressed") == "true"
    assert sdk_stack.wait_stats(WIDGETS["yesno"], content, {"yes": 1})["counts"] == {"yes": 1}

    _acked(page, "feelback-yesno", "edited", no.click)
    assert no.get_attribute("aria-pressed") == "true" and yes.get_attribute("aria-pressed") == "false"
    assert sdk_stack.wait_stats(WIDGETS["yesno"], content, {"no": 1})["counts"] == {"no": 1}

    page.reload()
    page.wait_for_selector("[ready]", state="attached")
    assert no.get_attribute("aria-pressed") == "true", "the visitor's own choice shows after a reload"
    assert "1" in no.inner_text()

    _acked(page, "feelback-yesno", "revoked", no.click)
    assert no.get_attribute("aria-pressed") == "false"
    assert sdk_stack.wait_stats(WIDGETS["yesno"], content, {})["total"] == 0
