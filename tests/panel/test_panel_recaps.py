"""The recap preview: ``GET /v1/projects/{id}/recaps/preview`` against a real dbt build (its numbers are
the marts' and the signals the test made), visitors' text stays text, its HTML alone at the signed
``html_url`` with a policy of its own, and the Recaps screen shows the weekly and monthly recap in a
sandboxed frame in Chromium, styled, under the panel's strict policy (axe-clean, both themes, 360 px)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from feelback.control_plane.models import RecapFrequency
from feelback.recaps.periods import Period, last_complete_period
from feelback.recaps.preview import empty_report, render_preview
from feelback.recaps.report import FeedbackLine
from feelback.settings import Settings, get_settings
from ingest_api.app import create_app
from tests.api.ingest_support import ApiProcess, BROWSER_UA
from tests.api.stats_support import World, dbt_build, replicate_and_score
from tests.panel.panel_support import check_screen, require_built_panel, sign_in_with_key
from tests.pipelines.raw_events import RawEvents

TIMEZONE = "Europe/Paris"
SCRIPT = "<script>document.title='pwned'</script>"
HOSTILE = f"{SCRIPT}<img src=x onerror=\"document.title='pwned'\"> the guide is <b>great</b>"
PREVIEW = "/v1/projects/{}/recaps/preview"
EMAIL_BACKGROUND = "rgb(243, 244, 246)"  # the e-mail body's inline style: applied only under the preview's own policy
# key: (signal type, what each created signal carries)
SETS = {
    "stars": ("rating", {"value": 4, "rating_scale": 5}),
    "likes": ("like", {"value": 1}),
    "notes": ("message", {"message": "clear and helpful, thanks"}),
}


@pytest.fixture(scope="module")
def recap_world(clickhouse_server, tmp_path_factory) -> tuple[World, dict[RecapFrequency, int]]:
    """A built project with signals in the last complete week and month and in the periods before
    them, one message hostile HTML; with the number of signals the test made in each last period."""
    from feelback.control_plane.db import session_scope, upgrade_control_plane
    from feelback.control_plane.models import ContentSet
    from feelback.control_plane.projects import create_project
    from warehouse.client import get_client

    home = tmp_path_factory.mktemp("recaps")
    settings = Settings(home=home, database_url=get_settings().control_db_url)
    upgrade_control_plane(settings)
    with session_scope(settings) as session:
        created = create_project(session, f"Recap preview {uuid.uuid4().hex[:4]}", timezone=TIMEZONE)
        for key, (signal_type, _) in SETS.items():
            session.add(ContentSet(project_id=created.project.id, key=key, signal_type=signal_type, config={}))
        world = World(settings, created.project.id, created.public_key, created.secret_key, rows=[], build_dir=home / "dbt")

    now = dt.datetime.now(dt.UTC)
    week, month = (last_complete_period(kind, TIMEZONE, now) for kind in RecapFrequency)
    events = RawEvents(project_id=world.project_id)
    days: list[dt.date] = []
    # A few signals on some days of each period and of the one before it (days may be shared: counted per period).
    for period, per_day in ((week, 2), (week.previous, 1), (month, 1), (month.previous, 1)):
        for day in period.days[::3]:
            days += [day] * per_day
    for n, day in enumerate(days):
        content_set = list(SETS)[n % len(SETS)]
        signal_type, fields = SETS[content_set]
        noon = dt.datetime.combine(day, dt.time(12, n % 60), ZoneInfo(TIMEZONE)).astimezone(dt.UTC)
        events.create(signal_type, noon, content_set=content_set, content_key=f"/page-{n % 3}", visitor_id=f"v{n}", **fields)
    hostile_at = dt.datetime.combine(week.start, dt.time(9), ZoneInfo(TIMEZONE)).astimezone(dt.UTC)
    events.create("message", hostile_at, content_set="notes", content_key="/<b>key</b>", visitor_id="vx", message=HOSTILE)
    days.append(week.start)
    made = {kind: sum(period.start <= day < period.end for day in days) for kind, period in ((RecapFrequency.weekly, week), (RecapFrequency.monthly, month))}

    first = min(days) - dt.timedelta(days=1)
    ch = get_client()
    try:
        world.insert(ch, events)
        replicate_and_score(world, ch, dt.datetime.combine(first, dt.time(), dt.UTC))
    finally:
        ch.close()
    dbt_build(world, {"min_day": first.isoformat(), "max_day": now.date().isoformat()})
    return world, made


@pytest.fixture(scope="module")
def owner(recap_world):
    world, _ = recap_world
    headers = {"Authorization": f"Bearer {world.secret_key}", "User-Agent": BROWSER_UA}
    with TestClient(create_app(world.settings), headers=headers) as client:
        yield client


def mart_signals(ch, project_id: str, period: str, start: dt.date) -> dict[str, int]:
    rows = ch.query(
        """
        SELECT content_set, sum(signals) FROM analytics.agg_content_set_period
        WHERE project_id = {p:String} AND period = {period:String} AND period_start = {start:Date}
        GROUP BY content_set
        """,
        parameters={"p": project_id, "period": period, "start": start},
    ).result_rows
    return {content_set: int(signals) for content_set, signals in rows}


@pytest.mark.parametrize("kind, mart_period", [(RecapFrequency.weekly, "week"), (RecapFrequency.monthly, "month")])
def test_the_preview_is_the_last_complete_periods_recap(owner, recap_world, ch, kind, mart_period):
    world, made = recap_world
    response = owner.get(PREVIEW.format(world.project_id), params={"period": kind.value})
    assert response.status_code == 200, response.text
    body = response.json()

    period = last_complete_period(kind, TIMEZONE, dt.datetime.now(dt.UTC))
    assert (body["period"], body["start"], body["end"]) == (kind.value, period.start.isoformat(), (period.end - dt.timedelta(days=1)).isoformat())
    assert body["label"] == period.label and body["timezone"] == TIMEZONE and body["built"] is True
    by_set = mart_signals(ch, world.project_id, mart_period, period.start)
    assert body["signals"] == sum(by_set.values()) == made[kind]
    assert body["previous_signals"] == sum(mart_signals(ch, world.project_id, mart_period, period.previous.start).values()) > 0
    assert body["subject"] == f"{kind.value.capitalize()} recap for {owner.get(f'/v1/projects/{world.project_id}').json()['name']}: {period.label}"

    html = body["html"]
    assert re.search(rf'data-metric="signals">{made[kind]}</td>', html)
    for content_set, signals in by_set.items():
        row = re.search(rf'<tr data-set="{content_set}" data-type="[a-z]+">(.*?)</tr>', html, re.S).group(1)
        assert f'data-metric="signals">{signals}</td>' in row
        assert re.search(rf"^- {content_set} \([a-z]+\): {signals} signals, ", body["text"], re.M)
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/]{200,}=*"', html)  # the chart, no cid: in a browser
    assert "Content-Security-Policy" in html and "cid:" not in html
    assert "Sent by Feelback to you because" in html  # a key has no address of its own


def test_visitors_html_stays_text(owner, recap_world):
    world, _ = recap_world
    body = owner.get(PREVIEW.format(world.project_id), params={"period": "weekly"}).json()
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in body["html"]
    assert "<script" not in body["html"].lower() and "<b>" not in body["html"] and "<img src=x" not in body["html"]
    assert "/&lt;b&gt;key&lt;/b&gt;" in body["html"]
    assert SCRIPT in body["text"]  # plain text is not HTML: it is left as the visitor wrote it


def test_every_tag_in_a_rendered_recap_is_the_templates():
    """The template escapes what a report carries, whatever the field (not only messages)."""
    period = Period.containing(RecapFrequency.weekly, dt.date(2025, 3, 3))
    report = empty_report("p1", f"Docs {SCRIPT}", "UTC", period)
    line = FeedbackLine(dt.datetime(2025, 3, 4, tzinfo=dt.UTC), f"set{SCRIPT}", f"/k{SCRIPT}", HOSTILE, None)
    report = dataclasses.replace(report, feedback=[line])
    shown = render_preview(report, f"a{SCRIPT}@example.com")
    assert "<script" not in shown.html.lower() and "onerror=\"" not in shown.html
    assert shown.html.count("&lt;script&gt;") == 7  # title, heading, footer (name twice, recipient), the feedback's set, key, message
    assert "No signals in this period." in shown.html and "No signals in this period." in shown.text


def test_the_html_url_serves_the_email_alone_under_a_policy_of_its_own(owner, recap_world):
    """What the panel's frame loads: the same e-mail, by a signed link (no credentials: a frame cannot send a
    key), with a policy that lets it style itself and show its data: chart, and nothing else."""
    from ingest_api.routers.panel_recaps import PREVIEW_CSP

    world, _ = recap_world
    body = owner.get(PREVIEW.format(world.project_id), params={"period": "monthly"}).json()
    assert body["html_url"].startswith("/v1/recaps/preview.html?link=")
    with TestClient(create_app(world.settings), headers={"User-Agent": BROWSER_UA}) as stranger:
        response = stranger.get(body["html_url"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == body["html"]  # the monthly one, as the link says
    policy = response.headers["content-security-policy"]
    assert policy == PREVIEW_CSP
    assert {"default-src 'none'", "style-src 'unsafe-inline'", "img-src data:", "sandbox", "frame-ancestors 'self'"} <= set(policy.split("; "))
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["cache-control"] == "private, no-store"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_a_made_up_mangled_or_old_preview_link_is_refused(owner, recap_world, monkeypatch):
    from feelback.control_plane.links import LinkPurpose
    from ingest_api.routers import panel_recaps

    world, _ = recap_world
    url = owner.get(PREVIEW.format(world.project_id)).json()["html_url"]
    token = url.split("?link=", 1)[1]
    app = owner.app
    other_purpose = app.state.account_mail.signer.sign(LinkPurpose.invitation, {"project": world.project_id, "period": "weekly", "user": None})
    with TestClient(app, headers={"User-Agent": BROWSER_UA}) as stranger:
        for link in (token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"), other_purpose, "made-up"):
            refused = stranger.get("/v1/recaps/preview.html", params={"link": link})
            assert refused.status_code == 403, link
            assert refused.json()["error"] == {"code": "invalid_link", "message": "this recap preview link is not valid"}
        assert stranger.get("/v1/recaps/preview.html").status_code == 422
        monkeypatch.setattr(panel_recaps, "PREVIEW_LINK_TTL", dt.timedelta(seconds=-1))
        expired = stranger.get(url)
        assert expired.status_code == 410
        assert "open the preview again" in expired.json()["error"]["message"]


@pytest.mark.parametrize(
    "params, status, message",
    [({"period": "daily"}, 422, "period"), ({"period": ""}, 422, "period")],
)
def test_bad_period_names_the_parameter(owner, recap_world, params, status, message):
    world, _ = recap_world
    response = owner.get(PREVIEW.format(world.project_id), params=params)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]


def test_a_stranger_gets_nothing(recap_world):
    world, _ = recap_world
    with TestClient(create_app(world.settings), headers={"User-Agent": BROWSER_UA}) as client:
        assert client.get(PREVIEW.format(world.project_id)).status_code == 401
        other = client.get(PREVIEW.format(world.project_id), headers={"Authorization": "Bearer fb_sk_not-a-key"})
        assert other.status_code == 401


# --- the Recaps screen in Chromium -------------------------------------------------------------------


@pytest.fixture(scope="module")
def recaps_api(recap_world, clickhouse_server):
    require_built_panel()
    world, _ = recap_world
    api = ApiProcess(world.settings, clickhouse_server.url)
    api.start()
    yield api
    api.kill()


def test_the_recaps_screen_previews_the_weekly_and_monthly_recap(browser, recaps_api, recap_world, artifacts):
    world, made = recap_world
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        sign_in_with_key(page, recaps_api, world.secret_key)
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        page.get_by_role("link", name="Recaps").click()

        frame = page.frame_locator("iframe.recap-frame")
        expect(page.get_by_role("tab", name="Weekly")).to_have_attribute("aria-selected", "true")
        expect(page.get_by_role("tabpanel", name="Weekly")).to_contain_text(f"{made[RecapFrequency.weekly]} signals.")
        expect(frame.locator('td[data-metric="signals"]').first).to_have_text(str(made[RecapFrequency.weekly]))
        expect(frame.get_by_text(f"{SCRIPT}", exact=False)).to_be_visible()  # shown as text, not run
        expect(frame.locator("body")).to_have_css("background-color", EMAIL_BACKGROUND)  # the e-mail's inline styles apply
        assert page.locator("iframe.recap-frame").get_attribute("sandbox") == ""
        assert page.locator("iframe.recap-frame").get_attribute("src").startswith("/v1/recaps/preview.html?link=")
        assert page.locator("iframe.recap-frame").get_attribute("title").startswith("Preview of the e-mail: Weekly recap for")
        check_screen(page, artifacts, "recaps-preview-weekly")

        page.get_by_role("tab", name="Weekly").press("ArrowRight")  # by keyboard as by click
        expect(page.get_by_role("tab", name="Monthly")).to_be_focused()
        expect(page.locator("iframe.recap-frame")).to_have_attribute("title", re.compile("Monthly recap for"))
        expect(frame.locator('td[data-metric="signals"]').first).to_have_text(str(made[RecapFrequency.monthly]))
        check_screen(page, artifacts, "recaps-preview-monthly")

        assert dialogs == [] and page.title() != "pwned"
    finally:
        context.close()


def test_the_preview_fits_a_phone(browser, recaps_api, recap_world, artifacts):
    world, made = recap_world
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    try:
        sign_in_with_key(page, recaps_api, world.secret_key)
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        page.get_by_role("link", name="Recaps").click()
        frame = page.frame_locator("iframe.recap-frame")
        expect(frame.locator('td[data-metric="signals"]').first).to_have_text(str(made[RecapFrequency.weekly]))
        expect(frame.locator("body")).to_have_css("background-color", EMAIL_BACKGROUND)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        email = page.locator("iframe.recap-frame").element_handle().content_frame()
        assert email.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # the e-mail fits its frame
        page.locator("iframe.recap-frame").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "panel-recaps-preview-360.png"))
    finally:
        context.close()


def test_an_empty_period_still_shows_what_the_recap_says(browser, recaps_api, recap_world, artifacts):
    """A project without signals (made after the build): the notice says so, the recap is still there."""
    from feelback.control_plane.db import session_scope
    from feelback.control_plane.projects import create_project

    world, _ = recap_world
    with session_scope(world.settings) as session:
        quiet = create_project(session, "Quiet project", timezone=TIMEZONE)
        project_id, secret_key = quiet.project.id, quiet.secret_key
    with TestClient(create_app(world.settings), headers={"Authorization": f"Bearer {secret_key}", "User-Agent": BROWSER_UA}) as client:
        body = client.get(PREVIEW.format(project_id), params={"period": "monthly"}).json()
    assert (body["signals"], body["previous_signals"], body["built"]) == (0, 0, True)
    assert "No signals in this period." in body["html"]

    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    try:
        sign_in_with_key(page, recaps_api, secret_key)
        page.get_by_role("link", name="Recaps").click()
        expect(page.get_by_role("status").filter(has_text=re.compile(r"^No signals in Week \d+"))).to_be_visible()
        expect(page.frame_locator("iframe.recap-frame").get_by_text("No signals in this period.")).to_be_visible()
        check_screen(page, artifacts, "recaps-preview-empty")
    finally:
        context.close()
