"""The widgets on a strict-CSP page, under axe-core, by keyboard only, in the visitor's language,
and screenshots of each in light and dark (kept in test-artifacts/ to look at by eye)."""

from __future__ import annotations

import uuid

import pytest

from tests.sdk.support import AXE, DIST, TEN_SET, WIDGETS
from tests.sdk.test_widgets_browser import all_widgets, content_key, open_page, record_events, wait_events, widget


def test_a_strict_csp_page_works(sdk_stack, page):
    """No 'unsafe-inline', no nonce: styles come from a constructable stylesheet, nothing is inlined."""
    api = sdk_stack.api
    csp = f"default-src 'self'; script-src {api}; style-src 'self'; connect-src {api}"
    content = content_key()
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    html = sdk_stack.page_html(f'<feelback-updown set="demo-updown" content="{content}"></feelback-updown>')
    page.goto(sdk_stack.pages.add(f"/csp-{uuid.uuid4().hex[:6]}.html", html, {"Content-Security-Policy": csp}))
    page.wait_for_selector("feelback-updown:state(ready)", state="attached")
    up = widget(page, "feelback-updown").get_by_role("button", name="Upvote")
    assert up.evaluate("button => getComputedStyle(button).borderTopStyle") == "solid", "the widget's stylesheet applies"
    record_events(page)
    up.click()
    wait_events(page, [("feelback-updown", "sent")])
    assert sdk_stack.wait_stats("demo-updown", content, {"up": 1})["counts"] == {"up": 1}
    assert violations == []
    # The page's CSP is really enforced: an inline style is refused.
    page.evaluate("() => { const style = document.createElement('style'); style.textContent = 'body{color:red}'; document.head.append(style); }")
    page.wait_for_timeout(100)
    assert any("style-src" in text for text in violations)


def test_a_page_enforcing_trusted_types_works(sdk_stack, page):
    """`require-trusted-types-for 'script'`: the widgets write their HTML through the policy "feelback",
    which the page allows by its name, and nothing else of theirs needs a trusted value."""
    api = sdk_stack.api
    csp = (
        f"default-src 'self'; script-src {api}; style-src 'self'; connect-src {api}; "
        "require-trusted-types-for 'script'; trusted-types feelback"
    )
    content = content_key()
    violations = []
    page.on("console", lambda message: any(word in message.text for word in ("Trusted Type", "Content Security Policy")) and violations.append(message.text))
    page.on("pageerror", lambda error: violations.append(str(error)))
    html = sdk_stack.page_html(all_widgets(content))
    page.goto(sdk_stack.pages.add(f"/tt-{uuid.uuid4().hex[:6]}.html", html, {"Content-Security-Policy": csp}))
    for name in WIDGETS:  # (not wait_for_function: the page's policy refuses its eval)
        page.wait_for_selector(f"feelback-{name}:state(ready)", state="attached")
    record_events(page)
    widget(page, "feelback-updown").get_by_role("button", name="Upvote").click()
    wait_events(page, [("feelback-updown", "sent")])
    assert sdk_stack.wait_stats("demo-updown", content, {"up": 1})["counts"] == {"up": 1}
    assert violations == []
    # The page really enforces Trusted Types: its own plain string as HTML is refused.
    refused = page.evaluate("() => { try { document.body.innerHTML = '<b>x</b>'; return false } catch (e) { return e.name } }")
    assert refused == "TypeError"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_no_violations(sdk_stack, page, theme):
    content = content_key()
    head = "<style>html[data-theme=dark] body{background:#0d1117;color:#e6edf3}</style>"
    html = sdk_stack.page_html(all_widgets(content), head=head).replace("<html ", f'<html data-theme="{theme}" ')
    page.goto(sdk_stack.pages.add(f"/axe-{uuid.uuid4().hex[:6]}.html", html))
    page.wait_for_function(f"document.querySelectorAll(':state(ready)').length >= {len(WIDGETS)}")
    # Pressed, announced and disabled states too: a chosen value and a live-region message.
    widget(page, "feelback-yesno").get_by_role("button", name="Yes").click()
    widget(page, "feelback-rating").locator("label").nth(3).click()
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    violations = [(v["id"], v["help"], [node["target"] for node in v["nodes"]]) for v in result["violations"]]
    assert violations == []
    assert result["passes"], "axe looked at the widgets"


def _focused(page) -> dict:
    """The element focused inside a widget's shadow root: its tag, text, name and outline."""
    return page.evaluate(
        """() => { const host = document.activeElement; const inner = host && host.shadowRoot && host.shadowRoot.activeElement;
        if (!inner) return {host: host && host.tagName.toLowerCase()};
        const shown = inner.matches('input[type=radio]') ? inner.nextElementSibling : inner;
        return {host: host.tagName.toLowerCase(), tag: inner.tagName.toLowerCase(), text: inner.textContent || inner.value,
                name: inner.name || '', outline: getComputedStyle(shown).outlineStyle, pressed: inner.getAttribute('aria-pressed')}; }"""
    )


def test_keyboard_only(sdk_stack, page):
    content = content_key()
    open_page(sdk_stack, page, all_widgets(content), count=len(WIDGETS))
    record_events(page)
    page.keyboard.press("Tab")  # yes/no: Yes
    assert _focused(page)["host"] == "feelback-yesno" and _focused(page)["outline"] != "none", _focused(page)
    page.keyboard.press("Enter")
    wait_events(page, [("feelback-yesno", "sent")])
    assert _focused(page)["pressed"] == "true", "focus stays on the button, now pressed"

    page.keyboard.press("Tab")  # No
    page.keyboard.press("Tab")  # up/down: Upvote
    assert _focused(page)["host"] == "feelback-updown"
    page.keyboard.press("Space")
    wait_events(page, [("feelback-updown", "sent")])

    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # rating: the radio group is one tab stop
    focused = _focused(page)
    assert focused["host"] == "feelback-rating" and focused["tag"] == "input" and focused["outline"] != "none", focused
    page.keyboard.press("Space")  # picks the first star
    wait_events(page, [("feelback-rating", "sent")])
    page.keyboard.press("ArrowRight")  # moves to and picks 2
    wait_events(page, [("feelback-rating", "edited")])
    assert widget(page, "feelback-rating").get_by_role("radio", name="2 of 5").is_checked()

    page.keyboard.press("Tab")  # rating: Undo
    assert _focused(page)["text"] == "Undo"
    page.keyboard.press("Enter")
    wait_events(page, [("feelback-rating", "revoked")])
    assert _focused(page)["tag"] == "input", "focus goes back to the stars when Undo hides itself"

    page.keyboard.press("Tab")  # like
    assert _focused(page)["host"] == "feelback-like"
    page.keyboard.press("Enter")
    wait_events(page, [("feelback-like", "sent")])

    page.keyboard.press("Tab")  # reactions: the first one
    assert _focused(page)["host"] == "feelback-reactions"
    page.keyboard.press("Enter")
    wait_events(page, [("feelback-reactions", "sent")])

    for _ in range(10):  # to the form's message field
        page.keyboard.press("Tab")
        if _focused(page).get("tag") == "textarea":
            break
    page.keyboard.type("Typed with the keyboard only")
    page.keyboard.press("Tab")  # topic
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")  # which page?
    page.keyboard.press("Tab")  # email
    page.keyboard.press("Tab")  # Send
    assert _focused(page)["text"] == "Send"
    page.keyboard.press("Enter")
    wait_events(page, [("feelback-form", "sent")])
    status = widget(page, "feelback-form").locator("[role=status]").inner_text()
    assert status == "Thank you! Your feedback was sent."


def test_words_follow_the_page_language_and_attributes(sdk_stack, page):
    content = content_key()
    body = (
        f'<feelback-yesno set="demo-yesno" content="{content}"></feelback-yesno>'
        f'<div lang="fr"><feelback-like set="demo-like" content="{content}"></feelback-like></div>'
        f'<feelback-rating data-locale="it" set="demo-rating" content="{content}" text-rate="Voto?"></feelback-rating>'
    )
    open_page(sdk_stack, page, body, count=3, lang="de")
    assert widget(page, "feelback-yesno").get_by_role("button", name="Ja").is_visible()
    assert widget(page, "feelback-yesno").locator("[part=label]").inner_text() == "War das hilfreich?"
    assert widget(page, "feelback-like").get_by_role("button", name="J’aime").is_visible()
    assert widget(page, "feelback-rating").get_by_role("radio", name="3 su 5").count() == 1
    assert widget(page, "feelback-rating").locator("legend").inner_text() == "Voto?"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_every_widget(sdk_stack, browser, artifacts, scheme):
    """One picture per widget and theme, with counts and a chosen value, for a person to look at."""
    from tests.api.ingest_support import BROWSER_UA

    context = browser.new_context(user_agent=BROWSER_UA, color_scheme=scheme, device_scale_factor=2)
    page = context.new_page()
    try:
        background = "#0d1117" if scheme == "dark" else "#ffffff"
        head = f"<style>body{{background:{background};font-family:sans-serif}} section{{padding:12px}}</style>"
        open_page(sdk_stack, page, all_widgets(f"/screenshots/{scheme}"), count=len(WIDGETS), head=head)
        widget(page, "feelback-reactions").get_by_role("button", name="heart").click()
        widget(page, "feelback-rating").locator("label").nth(3).click()
        page.mouse.move(0, 0)
        for name in WIDGETS:
            page.locator(f"section:has(feelback-{name})").screenshot(path=str(artifacts / f"sdk-{name}-{scheme}.png"))
            assert (artifacts / f"sdk-{name}-{scheme}.png").stat().st_size > 1000
    finally:
        context.close()


def test_the_demo_page_served_by_the_api_works(sdk_stack, page, artifacts):
    page.goto(f"{sdk_stack.api}/demo/")
    page.wait_for_function(f"document.querySelectorAll(':state(ready)').length >= {2 * len(WIDGETS)}")
    record_events(page)
    page.locator("feelback-like").first.get_by_role("button", name="Like").click()
    wait_events(page, [("feelback-like", "sent")])
    page.screenshot(path=str(artifacts / "sdk-demo-page.png"), full_page=True)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert [(v["id"], [node["target"] for node in v["nodes"]]) for v in result["violations"]] == []


def test_attributes_scale_content_shortcuts_counts_and_theming(sdk_stack, page):
    head = "<style>.themed{--feelback-accent:rgb(200, 0, 100)} .themed feelback-like::part(button){border-radius:0}</style>"
    body = (
        f'<feelback-rating set="{TEN_SET}" content="$url"></feelback-rating>'
        '<div class="themed"><feelback-like set="demo-like" content="$path" counts="false"></feelback-like></div>'
    )
    open_page(sdk_stack, page, body, count=2, head=head)
    rating, like = widget(page, "feelback-rating"), widget(page, "feelback-like")
    assert rating.get_by_role("radio").count() == 10 and rating.get_by_role("radio", name="10 of 10").count() == 1
    assert like.locator(".count").count() == 0, "counts hidden"
    button = like.get_by_role("button", name="Like")
    assert button.evaluate("b => getComputedStyle(b).borderTopLeftRadius") == "0px", "::part(button) styles it"
    record_events(page)
    rating.locator("label").nth(9).click()
    button.click()
    events = {tag: detail for tag, _, detail in wait_events(page, [("feelback-rating", "sent"), ("feelback-like", "sent")])}
    path = page.evaluate("location.pathname")
    assert events["feelback-rating"]["content_key"] == page.evaluate("location.origin") + path and events["feelback-rating"]["value"] == 10
    assert events["feelback-like"]["content_key"] == path
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(200, 0, 100)", "--feelback-accent themes it"
    assert sdk_stack.wait_stats(TEN_SET, page.evaluate("location.origin") + path, {"10": 1})["counts"] == {"10": 1}


# (host colour, button background) of each theme: --feelback-fg and --feelback-bg's defaults
THEME_COLOURS = {"light": ("rgb(31, 35, 40)", "rgb(255, 255, 255)"), "dark": ("rgb(230, 237, 243)", "rgb(13, 17, 23)")}
# Marks the page sets and removes at runtime, and the theme that follows (None: the visitor's prefers-color-scheme).
THEME_STEPS = [
    ("", None),
    ("html.classList.add('dark')", "dark"),
    ("html.classList.remove('dark')", None),
    ("html.dataset.theme = 'dark'", "dark"),
    ("outer.dataset.theme = 'light'", "light"),  # the nearest mark wins
    ("outer.classList.add('dark'); delete outer.dataset.theme", "dark"),
    ("outer.classList.remove('dark'); html.dataset.theme = 'light'", "light"),  # overrides a dark preference
    ("delete html.dataset.theme", None),
]
SHADOW_SHELL = """<script>
  customElements.define('app-shell', class extends HTMLElement {
    connectedCallback() { this.attachShadow({mode: 'open'}).innerHTML = '<feelback-like set="demo-like" content="/theme/nested"></feelback-like>'; }
  });
</script>"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_light_and_dark_follow_the_pages_marks_as_they_change(sdk_stack, browser, scheme):
    """data-theme and .dark/.light on html or any ancestor (also of a shadow root the widget is in),
    changed while the page runs; without marks, prefers-color-scheme. Not :host-context(), which
    Firefox lacks: the widgets' :state(dark|light) comes from one MutationObserver."""
    from tests.api.ingest_support import BROWSER_UA

    context = browser.new_context(user_agent=BROWSER_UA, color_scheme=scheme)
    page = context.new_page()
    try:
        body = '<div id="outer"><div><feelback-like set="demo-like" content="/theme/plain"></feelback-like><app-shell></app-shell></div></div>'
        open_page(sdk_stack, page, body, head=SHADOW_SHELL)
        page.wait_for_function("document.querySelector('app-shell').shadowRoot.querySelector('feelback-like:state(ready)')")
        for change, theme in THEME_STEPS:
            shown = page.evaluate(
                """async (change) => {
                  const html = document.documentElement, outer = document.getElementById('outer');
                  new Function('html', 'outer', change)(html, outer);
                  await new Promise((resolve) => setTimeout(resolve));
                  const nested = document.querySelector('app-shell').shadowRoot.querySelector('feelback-like');
                  return [document.querySelector('feelback-like'), nested].map((host) =>
                    [getComputedStyle(host).color, getComputedStyle(host.shadowRoot.querySelector('button')).backgroundColor,
                     ['dark', 'light'].find((theme) => host.matches(`:state(${theme})`)) ?? null]);
                }""",
                change,
            )
            expected = [*THEME_COLOURS[theme or scheme], theme]
            assert shown == [expected, expected], (scheme, change, shown)
    finally:
        context.close()
    assert ":host-context" not in (DIST / "feelback.js").read_text(), "Firefox does not support :host-context()"
