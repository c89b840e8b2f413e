"""Content sets and the overview in Chromium against a real API (no build yet: the live numbers)."""

from __future__ import annotations

import datetime as dt
import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from ingest_api.ingest.state import CACHE_SECONDS as INGEST_CACHE_SECONDS
from ingest_api.routers.widget_config import CACHE_SECONDS as CONFIG_CACHE_SECONDS
from tests.panel.panel_support import check_screen, send_signal, sign_in_with_key
from tests.polling import DEADLINE, eventually


@pytest.fixture()
def page(browser, panel_api):
    """A page signed in with the project's secret key."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    sign_in_with_key(page, panel_api, panel_api.project.secret_key)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    yield page
    context.close()


def owner_get(api, path: str) -> dict:
    """GET with the project's secret key."""
    response = httpx.get(f"{api.url}{path}", headers={"Authorization": f"Bearer {api.project.secret_key}"})
    assert response.status_code == 200, response.text
    return response.json()


def listed(api, content_set: str, content_key: str) -> list[dict]:
    """The set's signals about ``content_key`` once there is one (polled: the ingest stores them within seconds)."""
    def some():
        signals = owner_get(api, f"/v1/projects/{api.project.id}/signals?content_set={content_set}&content_key={content_key}")["signals"]
        assert signals, (content_set, content_key)
        return signals

    return eventually(some)


def test_content_sets_of_every_kind(page, panel_api, artifacts):
    project = panel_api.project
    page.get_by_role("link", name="Content sets").click()
    expect(page.get_by_role("link", name="feedback", exact=True)).to_be_visible()
    check_screen(page, artifacts, "content-sets")

    page.get_by_role("button", name="New content set").click()
    page.get_by_label("Key").fill("Bad Key")
    page.get_by_role("button", name="Create content set").click()
    expect(page.get_by_role("alert")).to_contain_text("Key: use")

    page.get_by_label("Key").fill("page-mood")
    page.get_by_label("Name", exact=True).fill("Page mood")
    page.get_by_label(re.compile("^Reactions")).check()
    page.get_by_role("button", name="Remove reaction eyes").click()
    page.get_by_label("Sentiment of reaction 1").select_option("0")
    page.get_by_label("Edit window (minutes)").fill("5")
    page.get_by_label("Public stats").uncheck()
    check_screen(page, artifacts, "content-set-new")
    page.get_by_role("button", name="Create content set").click()
    expect(page.get_by_role("heading", name="Content set page-mood")).to_be_visible()
    stored = owner_get(panel_api, f"/v1/projects/{project.id}/content-sets/page-mood")
    assert stored["signal_type"] == "reaction" and stored["name"] == "Page mood"
    keys = [reaction["key"] for reaction in stored["config"]["reactions"]]
    assert "eyes" not in keys and len(keys) == 9
    assert stored["config"]["reactions"][0]["polarity"] == 0
    assert (stored["edit_window_seconds"], stored["public_stats"], stored["one_per_visitor"]) == (300, False, True)
    page.reload()
    expect(page.get_by_role("heading", name="Content set page-mood")).to_be_visible()

    # a set without signals can be deleted
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete content set").click()
    expect(page.get_by_role("heading", name="Content sets")).to_be_visible()
    expect(page.get_by_role("link", name="page-mood")).to_have_count(0)

    # a feedback form with tags and an extra field, edited on its own page
    page.goto(f"{panel_api.url}/app/p/{project.id}/sets/feedback")
    expect(page.get_by_role("textbox", name="Tags")).to_have_value("idea, bug")
    page.get_by_role("textbox", name="Tags").fill("idea, bug, praise")
    page.get_by_role("button", name="Add a field").click()
    page.get_by_label("Name", exact=True).last.fill("plan")
    page.get_by_label("Question shown").last.fill("Which plan are you on?")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    check_screen(page, artifacts, "content-set-edit")
    config = owner_get(panel_api, f"/v1/projects/{project.id}/content-sets/feedback")["config"]
    assert config["tags"] == ["idea", "bug", "praise"]
    assert [field["name"] for field in config["form_fields"]] == ["section", "plan"]

    # the API's refusal shows in words: a rating set's scale can only be 5, 7 or 10, the type of a set with signals cannot change
    send_signal(panel_api, "votes", "/guide", value="yes")
    listed(panel_api, "votes", "/guide")
    page.goto(f"{panel_api.url}/app/p/{project.id}/sets/votes")
    page.get_by_label(re.compile("^Rating")).check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("alert")).to_contain_text("type cannot change")


def test_overview_shows_new_signals(page, panel_api, artifacts):
    """New signals show on the open overview (waited for up to 30 s). How soon: ack -> overview read
    p50/p99 in ``.venv/bin/python -m bench.freshness``."""
    project = panel_api.project
    expect(page.get_by_role("tab", name="7 days")).to_have_attribute("aria-selected", "true")
    before = int(page.get_by_test_id("kpi-signals").locator(".kpi-value").inner_text().replace(",", ""))
    for page_key, value in (("/pricing", "yes"), ("/faq", "yes"), ("/terms", "no")):  # one vote per visitor and content
        send_signal(panel_api, "votes", page_key, value=value)
    send_signal(panel_api, "stars", "/pricing", value=6)
    expect(page.get_by_test_id("kpi-signals").locator(".kpi-value")).to_have_text(str(before + 4), timeout=30_000)
    expect(page.locator(".chart canvas")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^stars"))).to_be_visible()
    # the value bars: their widths are set through the CSSOM, which the panel's style-src allows (a style attribute it would not)
    widths = page.locator(".distribution .bar-fill").evaluate_all("fills => fills.map((fill) => fill.getBoundingClientRect().width)")
    assert max(widths) > 100 and min(widths) == 0, widths
    check_screen(page, artifacts, "overview")

    stats = httpx.get(f"{panel_api.url}/v1/stats/votes", params={"window": "7d", "key": project.public_key}).json()
    page.get_by_label("Content set").select_option("votes")
    expect(page.get_by_test_id("kpi-signals").locator(".kpi-value")).to_have_text(str(stats["total"]))
    page.get_by_role("tab", name="This month").click()
    expect(page.get_by_role("tab", name="This month")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tabpanel", name="This month").get_by_text(re.compile("compared with"))).to_be_visible()
    page.keyboard.press("ArrowLeft")  # the tabs by keyboard: the one before, focused and shown
    expect(page.get_by_role("tab", name="This week")).to_be_focused()
    expect(page.get_by_role("tab", name="This week")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tabpanel", name="This week")).to_be_visible()

    page.get_by_role("tab", name="7 days").click()
    page.get_by_role("link", name="/pricing").first.click()  # a content's own page
    expect(page.get_by_role("heading", name="/pricing in votes")).to_be_visible()
    expect(page.get_by_test_id("kpi-signals").locator(".kpi-value")).to_have_text("1")
    check_screen(page, artifacts, "content")

    page.set_viewport_size({"width": 360, "height": 800})
    check_screen(page, artifacts, "overview-360px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_inbox_triage_by_keyboard_and_in_bulk(page, panel_api, artifacts):
    project = panel_api.project
    texts = ["The search finds nothing", "Love the new guide", "Typo in the pricing page"]
    for text in texts:
        send_signal(
            panel_api, "feedback", "/guide", message=text, tags=["bug"], contact_email="ann@example.com", form_fields={"section": "intro"}
        )
    page.get_by_role("link", name="Inbox").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    messages = page.get_by_role("list", name="Messages").get_by_role("listitem")
    deadline = time.monotonic() + DEADLINE
    while messages.count() < 3 and time.monotonic() < deadline:  # the messages land within a second or two
        page.get_by_role("button", name="Refresh").click()
        page.wait_for_timeout(300)
    expect(messages).to_have_count(3)  # newest first
    expect(messages.first).to_contain_text("Typo in the pricing page")
    expect(messages.first.get_by_role("link", name="ann@example.com")).to_be_visible()
    check_screen(page, artifacts, "inbox")

    page.locator("body").press("r")  # the focused (first) message: read, and it leaves the New list
    expect(messages).to_have_count(2)
    # x, j, x faster than the panel renders (in one task): each key acts on what the one before did
    page.evaluate(
        "for (const key of ['x', 'j', 'x']) document.body.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}))"
    )
    expect(page.get_by_text("2 selected")).to_be_visible()
    page.get_by_role("button", name="Archive", exact=True).first.click()
    expect(page.get_by_text("No new messages")).to_be_visible()

    def states(state: str) -> set[str]:
        listed = owner_get(panel_api, f"/v1/projects/{project.id}/signals?type=message&triage={state}")["signals"]
        return {signal["message"] for signal in listed}

    assert states("read") == {texts[2]}
    assert states("archived") == {texts[0], texts[1]}

    page.get_by_label("State").select_option("archived")
    expect(messages).to_have_count(2)
    page.get_by_label("Text").fill("guide")
    page.get_by_role("button", name="Search").click()
    expect(messages).to_have_count(1)
    expect(messages.first).to_contain_text("Love the new guide")
    messages.first.get_by_role("button", name="Move to new").click()
    expect(messages).to_have_count(0)
    assert states("new") == {texts[1]}


def test_inbox_filters_by_tag_and_sentiment_in_the_address(page, panel_api, artifacts, ch):
    from pipelines.defs.sentiment.scoring import score_messages

    project = panel_api.project
    texts = {"positive": "I love the new search, it is wonderful", "negative": "The export is broken and awful", "neutral": "The page lists three steps"}
    began = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    sent = [
        send_signal(panel_api, "feedback", "/filters", message=texts["positive"], tags=["idea"]),
        send_signal(panel_api, "feedback", "/filters", message=texts["negative"], tags=["bug"]),
        send_signal(panel_api, "feedback", "/filters", message=texts["neutral"], tags=["bug"]),
    ]
    listing = f"/v1/projects/{project.id}/signals?type=message&content_key=/filters"
    deadline = time.monotonic() + DEADLINE
    while len(owner_get(panel_api, listing)["signals"]) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    score_messages(ch, began, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))  # the nightly build's scoring

    page.get_by_role("link", name="Inbox").click()
    page.get_by_label("Content key").fill("/filters")
    page.get_by_role("button", name="Search").click()
    messages = page.get_by_role("list", name="Messages").get_by_role("listitem")
    expect(messages).to_have_count(3)
    expect(messages.filter(has_text=texts["negative"]).get_by_text("Negative", exact=True)).to_be_visible()

    page.get_by_role("checkbox", name="bug", exact=True).check()
    expect(messages).to_have_count(2)
    page.get_by_label("Sentiment", exact=True).select_option("negative")
    expect(messages).to_have_count(1)
    expect(messages.first).to_contain_text(texts["negative"])
    assert re.search(r"[?&]tag=bug(&|$)", page.url) and "sentiment=negative" in page.url and "content=%2Ffilters" in page.url
    check_screen(page, artifacts, "inbox-filters")

    page.reload()  # the filters are in the address
    expect(messages).to_have_count(1)
    expect(page.get_by_role("checkbox", name="bug", exact=True)).to_be_checked()
    expect(page.get_by_label("Sentiment", exact=True)).to_have_value("negative")

    page.get_by_role("checkbox", name="bug", exact=True).press("Space")  # by keyboard: off again
    page.get_by_label("Sentiment", exact=True).select_option("positive")
    expect(messages).to_have_count(1)
    expect(messages.first).to_contain_text(texts["positive"])
    page.get_by_label("Sentiment", exact=True).select_option("neutral")
    expect(messages).to_have_count(1)
    expect(messages.first).to_contain_text(texts["neutral"])
    page.get_by_role("checkbox", name="idea", exact=True).check()  # neutral and tagged idea: none
    expect(page.get_by_text("No messages match")).to_be_visible()

    page.set_viewport_size({"width": 360, "height": 800})
    check_screen(page, artifacts, "inbox-filters-360px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    archived = httpx.post(
        f"{panel_api.url}/v1/projects/{project.id}/signals/triage",
        json={"signal_ids": [signal["signal_id"] for signal in sent], "state": "archived"},
        headers={"Authorization": f"Bearer {project.secret_key}"},
    )  # out of the other tests' New list
    assert archived.status_code == 200, archived.text


def test_privacy_recaps_and_install(page, panel_api, artifacts):
    project = panel_api.project
    send_signal(panel_api, "thumbs", "/erase-me", value="up")
    listed(panel_api, "thumbs", "/erase-me")
    page.get_by_role("link", name="Privacy").click()
    page.get_by_label("The signals about a content").check()
    page.get_by_label("Content key").fill("/erase-me")
    page.get_by_role("button", name="Check what it removes").click()
    expect(page.get_by_text("This erases 1 signal (1 event) for good.")).to_be_visible()
    check_screen(page, artifacts, "privacy")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Erase", exact=True).click()
    expect(page.get_by_role("cell", name="Content /erase-me")).to_be_visible()
    expect(page.get_by_role("cell", name="Waiting")).to_be_visible()

    page.get_by_role("link", name="Recaps").click()
    page.get_by_label("E-mail").fill("team@example.com")
    page.get_by_label("How often").select_option("monthly")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_text("team@example.com — monthly")).to_be_visible()
    check_screen(page, artifacts, "recaps")
    page.get_by_role("button", name="Unsubscribe team@example.com (monthly)").click()
    expect(page.get_by_text("Nobody gets recaps yet")).to_be_visible()
    assert owner_get(panel_api, f"/v1/projects/{project.id}/recap-subscriptions") == []

    page.get_by_role("link", name="Install").click()
    expect(page.locator(".snippet pre").first).to_contain_text("/sdk/v1/feelback.js")
    check_screen(page, artifacts, "install-key")


def test_install_preview_runs_the_widgets_under_the_panels_policy(page, panel_api, artifacts):
    """The SDK from the API's origin, its widgets (constructed style sheets) and their sends, on the panel's page."""
    project = panel_api.project
    auth = {"Authorization": f"Bearer {project.secret_key}"}
    origins = owner_get(panel_api, f"/v1/projects/{project.id}")["allowed_origins"]
    patched = httpx.patch(f"{panel_api.url}/v1/projects/{project.id}", json={"allowed_origins": [*origins, panel_api.url]}, headers=auth)
    assert patched.status_code == 200, patched.text

    # The API keeps a key's origins for a few seconds (the ingest's and the widget config's caches): let
    # what earlier tests loaded with the old origins expire, as a customer's new origin does.
    time.sleep(max(INGEST_CACHE_SECONDS, CONFIG_CACHE_SECONDS) + 0.5)
    page.reload()  # the panel reads the project again
    page.get_by_role("link", name="Install", exact=True).click()
    page.get_by_label("Public key").fill(project.public_key)
    page.get_by_role("button", name="Show the widgets here").click()
    preview = page.get_by_role("region", name="Widget preview")
    yes = preview.locator('feelback-yesno[set="votes"]').get_by_role("button", name="Yes")
    expect(yes).to_be_visible(timeout=DEADLINE * 1000)
    expect(page.get_by_text("which is not an allowed origin")).to_have_count(0)
    assert preview.locator('feelback-yesno[set="votes"]').evaluate("widget => widget.shadowRoot.adoptedStyleSheets.length") > 0
    yes.click()
    expect(yes).to_have_attribute("aria-pressed", "true")
    deadline = time.monotonic() + DEADLINE
    while not (sent := owner_get(panel_api, f"/v1/projects/{project.id}/signals?content_key=panel-preview")["signals"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [(signal["content_set"], signal["value"]) for signal in sent] == [("votes", 1)]  # a yes
    check_screen(page, artifacts, "install-preview")
