"""The widgets in Debian's Chromium against the real API (the demo project's sets): every widget
clicked, changed and undone, then the stats API shows it; offline clicks and lost answers arrive
exactly once; 429 + Retry-After is honoured; the visitor's choice shows after a reload."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.api.ingest_support import wait_for_rows
from tests.sdk.support import QUICK_SET, WIDGETS


def content_key() -> str:
    return f"/t/{uuid.uuid4().hex[:12]}"


def open_page(sdk_stack, page, body: str, *, count: int = 1, **page_options) -> None:
    page.goto(sdk_stack.pages.add(f"/{uuid.uuid4().hex[:8]}.html", sdk_stack.page_html(body, **page_options)))
    page.wait_for_function(f"document.querySelectorAll(':state(ready)').length >= {count}", timeout=15_000)


def record_events(page) -> None:
    page.evaluate(
        """() => { window.__events = [];
        for (const kind of ['sent', 'edited', 'revoked', 'failed'])
          document.addEventListener('feelback:' + kind, (e) => window.__events.push([e.target.tagName.toLowerCase(), kind, e.detail])); }"""
    )


def wait_events(page, expected: list[tuple[str, str]], timeout: float = 15_000) -> list:
    """Wait until the events seen equal ``expected`` ([(element, kind)], in any order); returns them."""
    wanted = sorted(map(list, expected))
    deadline = time.monotonic() + timeout / 1000
    while page.evaluate("window.__events.length") < len(wanted) and time.monotonic() < deadline:
        page.wait_for_timeout(20)  # (not wait_for_function: a strict CSP forbids its eval)
    events = page.evaluate("window.__events")
    assert sorted([tag, kind] for tag, kind, _ in events) == wanted, events
    page.evaluate("window.__events = []")
    return events


def widget(page, tag: str):
    return page.locator(tag)


# One step per widget: (how the visitor acts, the element's event, the counts the stats API then shows).
def _form_fill(page, message: str, tag: str = "bug") -> None:
    form = page.locator("feelback-form")
    form.get_by_label("Your feedback").fill(message)
    form.get_by_label("Topic").select_option(tag)
    form.get_by_label("Which page?").fill("/docs")
    form.get_by_label("Email (optional)").fill("reader@example.com")
    form.get_by_role("button", name="Send").click()


STEPS = {
    "yesno": [
        (lambda page: widget(page, "feelback-yesno").get_by_role("button", name="Yes").click(), "sent", {"yes": 1}),
        (lambda page: widget(page, "feelback-yesno").get_by_role("button", name="No").click(), "edited", {"no": 1}),
        (lambda page: widget(page, "feelback-yesno").get_by_role("button", name="No").click(), "revoked", {}),
    ],
    "updown": [
        (lambda page: widget(page, "feelback-updown").get_by_role("button", name="Downvote").click(), "sent", {"down": 1}),
        (lambda page: widget(page, "feelback-updown").get_by_role("button", name="Upvote").click(), "edited", {"up": 1}),
        (lambda page: widget(page, "feelback-updown").get_by_role("button", name="Upvote").click(), "revoked", {}),
    ],
    "rating": [
        (lambda page: widget(page, "feelback-rating").locator("label").nth(2).click(), "sent", {"3": 1}),
        (lambda page: widget(page, "feelback-rating").locator("label").nth(4).click(), "edited", {"5": 1}),
        (lambda page: widget(page, "feelback-rating").get_by_role("button", name="Undo").click(), "revoked", {}),
    ],
    "like": [
        (lambda page: widget(page, "feelback-like").get_by_role("button", name="Like").click(), "sent", {"like": 1}),
        (None, None, {"like": 1}),  # a like has one value: nothing to change
        (lambda page: widget(page, "feelback-like").get_by_role("button", name="Like").click(), "revoked", {}),
    ],
    "reactions": [
        (lambda page: widget(page, "feelback-reactions").get_by_role("button", name="thumbs up").click(), "sent", {"thumbs_up": 1}),
        (lambda page: widget(page, "feelback-reactions").get_by_role("button", name="heart").click(), "edited", {"heart": 1}),
        (lambda page: widget(page, "feelback-reactions").get_by_role("button", name="heart").click(), "revoked", {}),
    ],
    "form": [
        (lambda page: _form_fill(page, "The install page is great"), "sent", 1),
        (lambda page: _form_fill(page, "The install page misses a step", "idea"), "edited", 1),
        (lambda page: widget(page, "feelback-form").get_by_role("button", name="Undo").click(), "revoked", 0),
    ],
}


def all_widgets(content: str) -> str:
    return "".join(f'<section><feelback-{name} set="{key}" content="{content}"></feelback-{name}></section>' for name, key in WIDGETS.items())


def test_every_widget_clicked_changed_and_undone_shows_in_the_stats(sdk_stack, page, ch):
    content = content_key()
    open_page(sdk_stack, page, all_widgets(content), count=len(WIDGETS))
    record_events(page)
    for step in range(3):
        expected_events = []
        for name, steps in STEPS.items():
            act, kind, _ = steps[step]
            if act is not None:
                act(page)
                expected_events.append((f"feelback-{name}", kind))
        events = wait_events(page, expected_events)
        for tag, kind, detail in events:
            assert detail["content_key"] == content and detail["signal_id"], (tag, kind, detail)
        for name, steps in STEPS.items():
            expected = steps[step][2]
            shown = sdk_stack.wait_stats(WIDGETS[name], content, expected if isinstance(expected, dict) else None, total=expected)
            if isinstance(expected, dict):
                assert shown["counts"] == expected, (name, step, shown)
            else:
                assert shown["total"] == expected, (name, step, shown)
        if step == 1:
            # The visitor's own choices show after a reload, and the form keeps what they wrote.
            page.reload()
            page.wait_for_function(f"document.querySelectorAll(':state(ready)').length >= {len(WIDGETS)}")
            record_events(page)
            assert widget(page, "feelback-yesno").get_by_role("button", name="No").get_attribute("aria-pressed") == "true"
            assert widget(page, "feelback-reactions").get_by_role("button", name="heart").get_attribute("aria-pressed") == "true"
            assert widget(page, "feelback-rating").get_by_role("radio", name="5 of 5").is_checked()
            assert widget(page, "feelback-form").get_by_label("Your feedback").input_value() == "The install page misses a step"
            assert "1" in widget(page, "feelback-like").get_by_role("button", name="Like").inner_text()
    row = ch.query(
        "SELECT message, tags, contact_email, form_fields['page'] FROM raw.feedback_events "
        "WHERE content_set = 'demo-form' AND content_key = {c:String} AND operation = 'edit'",
        parameters={"c": content},
    ).result_rows
    assert row == [("The install page misses a step", ["idea"], "reader@example.com", "/docs")]


def test_offline_clicks_and_a_lost_answer_arrive_exactly_once(sdk_stack, page, ch):
    content = content_key()
    open_page(sdk_stack, page, f'<feelback-yesno set="demo-yesno" content="{content}"></feelback-yesno>')
    record_events(page)
    page.context.set_offline(True)
    widget(page, "feelback-yesno").get_by_role("button", name="Yes").click()
    page.wait_for_timeout(300)
    queued = page.evaluate("JSON.parse(localStorage.getItem('feelback:' + document.querySelector('script[data-key]').dataset.key)).q")
    assert [op["op"] for op in queued] == ["create"], "the click waits in the persisted queue"

    # Back online, the first answer is lost after the API stored the batch: the retry must be recognised.
    lost = []

    def lose_first_answer(route):
        response = route.fetch()
        if not lost:
            lost.append(response.status)
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    page.route("**/v1/batch", lose_first_answer)
    page.context.set_offline(False)
    wait_events(page, [("feelback-yesno", "sent")], timeout=20_000)
    assert lost == [200]
    count, _ = wait_for_rows(ch, "SELECT count() FROM raw.feedback_events WHERE content_key = {c:String}", {"c": content}, 1)
    time.sleep(1.5)  # a second copy would be drained by now
    assert ch.query("SELECT count() FROM raw.feedback_events WHERE content_key = {c:String}", parameters={"c": content}).result_rows[0][0] == 1
    assert sdk_stack.wait_stats("demo-yesno", content, {"yes": 1})["counts"] == {"yes": 1}


def test_a_429_waits_for_retry_after(sdk_stack, page):
    content = content_key()
    open_page(sdk_stack, page, f'<feelback-like set="demo-like" content="{content}"></feelback-like>')
    record_events(page)
    attempts = []

    def limit_first(route):
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            body = {"error": {"code": "rate_limited", "message": "too many signals from this visitor; retry after 2 s", "retry_after": 2}}
            route.fulfill(status=429, headers={"Retry-After": "2", "Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Retry-After"}, body=json.dumps(body))
        else:
            route.continue_()

    page.route("**/v1/batch", limit_first)
    widget(page, "feelback-like").get_by_role("button", name="Like").click()
    wait_events(page, [("feelback-like", "sent")], timeout=20_000)
    assert len(attempts) == 2
    assert attempts[1] - attempts[0] >= 1.9, f"retried after {attempts[1] - attempts[0]:.2f} s, before Retry-After"
    assert sdk_stack.wait_stats("demo-like", content, {"like": 1})["counts"] == {"like": 1}


def test_after_the_edit_window_the_choice_shows_but_cannot_change(sdk_stack, page):
    content = content_key()
    body = f'<feelback-yesno set="{QUICK_SET}" content="{content}"></feelback-yesno>'
    open_page(sdk_stack, page, body)
    record_events(page)
    yes = widget(page, "feelback-yesno").get_by_role("button", name="Yes")
    yes.click()
    wait_events(page, [("feelback-yesno", "sent")])
    assert yes.is_enabled(), "open while the window is"
    page.wait_for_timeout(1200)
    page.reload()
    page.wait_for_selector("feelback-yesno:state(ready)", state="attached")
    assert yes.get_attribute("aria-pressed") == "true"
    assert yes.is_disabled() and widget(page, "feelback-yesno").get_by_role("button", name="No").is_disabled()


def test_the_es_module_build_works_in_a_page(sdk_stack, page):
    content = content_key()
    module = (
        f'<script type="module">import {{ configure }} from "{sdk_stack.api}/sdk/v1/feelback.mjs";'
        f'configure({{ key: "{sdk_stack.demo.public_key}", endpoint: "{sdk_stack.api}" }});</script>'
    )
    html = f'<!doctype html><html lang="en"><head><title>ESM</title>{module}</head><body><feelback-like set="demo-like" content="{content}"></feelback-like></body></html>'
    page.goto(sdk_stack.pages.add(f"/esm-{uuid.uuid4().hex[:6]}.html", html))
    page.wait_for_selector("feelback-like:state(ready)", state="attached")
    record_events(page)
    widget(page, "feelback-like").get_by_role("button", name="Like").click()
    wait_events(page, [("feelback-like", "sent")])
    assert sdk_stack.wait_stats("demo-like", content, {"like": 1})["counts"] == {"like": 1}


def test_a_changed_content_attribute_reloads_the_widget(sdk_stack, page):
    """Single-page apps change the attribute on navigation, and React 19 sets attributes (no field shadows one)."""
    first, second = content_key(), content_key()
    open_page(sdk_stack, page, f'<feelback-yesno set="demo-yesno" content="{first}"></feelback-yesno>')
    record_events(page)
    yes = widget(page, "feelback-yesno").get_by_role("button", name="Yes")
    yes.click()
    wait_events(page, [("feelback-yesno", "sent")])
    page.evaluate(f"document.querySelector('feelback-yesno').setAttribute('content', '{second}')")
    page.wait_for_function("document.querySelector('feelback-yesno').shadowRoot.querySelector('[data-v=yes]').ariaPressed === 'false'")
    assert yes.get_attribute("aria-pressed") == "false", "another content: the visitor has not voted there"
    yes.click()
    detail = wait_events(page, [("feelback-yesno", "sent")])[0][2]
    assert detail["content_key"] == second
    assert page.evaluate("'set' in document.querySelector('feelback-yesno') || 'content' in document.querySelector('feelback-yesno')") is False


def test_a_click_made_offline_is_sent_by_the_next_page(sdk_stack, page, ch):
    """The queue outlives the page: clicked offline, the page closed, the next page sends it."""
    content = content_key()
    body = f'<feelback-updown set="demo-updown" content="{content}"></feelback-updown>'
    open_page(sdk_stack, page, body)
    page.context.set_offline(True)
    widget(page, "feelback-updown").get_by_role("button", name="Upvote").click()
    page.wait_for_timeout(200)
    url = page.url
    page.close()
    later = page.context.new_page()
    page.context.set_offline(False)
    later.goto(url)
    count, _ = wait_for_rows(ch, "SELECT count() FROM raw.feedback_events WHERE content_key = {c:String}", {"c": content}, 1, timeout=10)
    assert count == 1
    assert later.locator("feelback-updown").get_by_role("button", name="Upvote").get_attribute("aria-pressed") == "true"


def test_blocked_storage_falls_back_to_memory(sdk_stack, page):
    page.add_init_script("Object.defineProperty(window, 'localStorage', {get() { throw new DOMException('blocked', 'SecurityError'); }})")
    content = content_key()
    open_page(sdk_stack, page, f'<feelback-like set="demo-like" content="{content}"></feelback-like>')
    record_events(page)
    widget(page, "feelback-like").get_by_role("button", name="Like").click()
    wait_events(page, [("feelback-like", "sent")])
    assert sdk_stack.wait_stats("demo-like", content, {"like": 1})["counts"] == {"like": 1}


# Each POST /v1/batch the page makes: with keepalive? made while the page was being left? And the
# page's own retry is put off (delays of 0.5 s and more, i.e. the backoff, stretched 30 times), so on
# a busy machine too, only the leaving flush can send the click before the page is gone.
RECORD_BATCH_FETCHES = """(() => { const original = window.fetch, delay = window.setTimeout;
  for (const [target, name] of [[window, 'pagehide'], [document, 'visibilitychange']])
    target.addEventListener(name, () => { window.testLeaving = true; }, true);
  window.fetch = function (input, init) {
    if (String(input).includes('/v1/batch')) {
      const log = JSON.parse(localStorage.getItem('test:batches') || '[]');
      log.push({keepalive: !!(init && init.keepalive), leaving: !!window.testLeaving});
      localStorage.setItem('test:batches', JSON.stringify(log));
    }
    return original.apply(this, arguments);
  };
  window.setTimeout = (callback, ms, ...rest) => delay(callback, ms >= 500 ? ms * 30 : ms, ...rest); })()"""


# Leaving a page fires both pagehide and visibilitychange (hidden) in Chromium; each test lets only one
# reach the SDK, as browsers that fire only one of them would (older Safari: no visibilitychange).
ONLY = {
    "pagehide": "document.addEventListener('visibilitychange', (e) => e.stopImmediatePropagation(), true)",
    "visibilitychange": "window.addEventListener('pagehide', (e) => e.stopImmediatePropagation(), true)",
}


@pytest.mark.parametrize("event", ["pagehide", "visibilitychange"])
def test_a_click_waiting_for_its_retry_is_sent_with_keepalive_when_the_page_is_left(sdk_stack, page, ch, event):
    """The click's request fails (the network dropped), its retry waits for the backoff, and the visitor
    follows a link meanwhile: leaving the page sends it (fetch with keepalive, which outlives the page),
    and the API stores it once. The old page's timers never run again, so only the leaving flush can."""
    content = content_key()
    page.add_init_script(RECORD_BATCH_FETCHES)
    page.add_init_script(ONLY[event])
    open_page(sdk_stack, page, f'<feelback-like set="demo-like" content="{content}"></feelback-like>')
    dropped = []

    def drop_first(route):
        dropped.append(time.monotonic())
        route.abort("connectionreset")  # never reaches the API

    page.route("**/v1/batch", drop_first)
    widget(page, "feelback-like").get_by_role("button", name="Like").click()
    deadline = time.monotonic() + 15
    while not dropped and time.monotonic() < deadline:
        page.wait_for_timeout(10)
    page.unroute("**/v1/batch")
    elsewhere = sdk_stack.pages.add(f"/left-{uuid.uuid4().hex[:8]}.html", "<!doctype html><title>elsewhere</title><p>no SDK here</p>")
    page.goto(elsewhere)  # pagehide (and visibilitychange to hidden) on the widget's page

    count, _ = wait_for_rows(ch, "SELECT count() FROM raw.feedback_events WHERE content_key = {c:String}", {"c": content}, 1, timeout=10)
    assert count == 1, "the click arrived although its page was gone"
    time.sleep(1.5)  # a second copy would be drained by now
    rows = ch.query(
        "SELECT operation, content_set, value FROM raw.feedback_events WHERE content_key = {c:String}", parameters={"c": content}
    ).result_rows
    assert rows == [("create", "demo-like", 1)], "stored exactly once"
    # (Not read back from the stats API: Playwright's user-agent override does not reach a request sent
    # after the page's DevTools agent has gone, so it carries HeadlessChrome's, a crawler's, which is
    # stored but never counted; a real browser sends its one user agent.)
    batches = page.evaluate("JSON.parse(localStorage.getItem('test:batches'))")  # (same origin, no SDK)
    assert batches == [{"keepalive": True, "leaving": False}, {"keepalive": True, "leaving": True}], batches


def test_a_refused_key_is_explained_in_the_console_in_the_api_s_words(sdk_stack, page):
    warnings: list[str] = []
    page.on("console", lambda message: message.type == "warning" and warnings.append(message.text))
    html = sdk_stack.page_html('<feelback-yesno set="demo-yesno"></feelback-yesno>').replace(
        sdk_stack.demo.public_key, "fb_pk_nosuchkey"
    )
    page.goto(sdk_stack.pages.add(f"/refused-{uuid.uuid4().hex[:6]}.html", html))
    deadline = time.monotonic() + 10
    while not warnings and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert len(warnings) == 1 and warnings[0].startswith("feelback: "), warnings
    assert "key" in warnings[0].lower() and "HTTP" not in warnings[0], warnings
