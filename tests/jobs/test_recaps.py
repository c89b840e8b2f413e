"""Recap e-mails over a real SMTP server on loopback: their numbers are the marts', each recipient
gets one per period however often the job runs, and one failing recipient does not stop the others."""

from __future__ import annotations

import base64
import datetime as dt
import email
import re
from email import policy
from email.message import EmailMessage

import dagster as dg
import pytest

from feelback.control_plane.models import RecapFrequency
from pipelines.defs import recaps
from pipelines.defs.recaps.assets import monthly_recap_emails, recap_run_requests, weekly_recap_emails, weekly_recap_schedule
from tests.jobs.conftest import BOUNCING, FLAKY, OK, new_project

WEEK = "2024-03-04"  # Monday; the previous week starts 2024-02-26
MONTH = "2024-02-01"


@pytest.fixture(scope="module")
def recap_project(marts_projects, smtp_server):
    _, handler = smtp_server
    handler.refuse.update({FLAKY: "451 4.3.0 mailbox busy, try again later", BOUNCING: "550 5.1.1 no such user"})
    return marts_projects["recap"]


def _materialize(asset, partition: str, project: str, resend: bool = False) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [asset],
        partition_key=partition,
        run_config={"ops": {asset.op.name: {"config": {"projects": [project], "resend": resend}}}},
        raise_on_error=False,
    )


def _parse(envelope) -> EmailMessage:
    return email.message_from_bytes(envelope.content, policy=policy.default)


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_weekly_recap_numbers_equal_the_marts(recap_project, smtp_server, ch):
    _, handler = smtp_server
    result = _materialize(weekly_recap_emails, WEEK, recap_project)
    # flaky@ was refused with a 4xx: the step fails (to be retried) after everyone else got mail.
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "1 recipient(s) could not be reached" in failure.event_specific_data.error.message
    for address in OK:
        assert len(handler.to(address)) == 1, address
    assert handler.to(FLAKY) == [] and handler.to(BOUNCING) == []

    message = _parse(handler.to(OK[0])[0])
    assert message["Subject"].startswith("Weekly recap for Recap Docs")
    assert re.fullmatch(rf"<recap\.weekly\.{WEEK}\.{recap_project}\.[0-9a-f]{{16}}@feelback\.test>", message["Message-ID"])
    text = _text(message)

    totals = ch.query(
        """
        SELECT content_set, toString(signal_type), signals, sentiment_score
        FROM analytics.agg_content_set_period
        WHERE project_id = {p:String} AND period = 'week' AND period_start = {w:Date}
        ORDER BY content_set
        """,
        parameters={"p": recap_project, "w": dt.date.fromisoformat(WEEK)},
    ).result_rows
    assert {row[0] for row in totals} == {"likes", "stars", "notes"}
    html = message.get_body(("html",)).get_content()
    for content_set, signal_type, signals, sentiment in totals:
        [line] = [line for line in text.splitlines() if line.startswith(f"- {content_set} ({signal_type}): ")]
        assert line.startswith(f"- {content_set} ({signal_type}): {signals} signals, ")
        assert line.endswith(f"sentiment {sentiment:+.2f}" if sentiment is not None else "sentiment –")
        row = re.search(rf'<tr data-set="{content_set}" data-type="{signal_type}">(.*?)</tr>', html, re.S).group(1)
        assert re.search(rf'data-metric="signals">{signals}</td>', row)
    assert text.splitlines()[3].startswith(f"{sum(row[2] for row in totals)} signals")

    previous = ch.query(
        "SELECT sum(signals) FROM analytics.agg_content_set_period WHERE project_id = {p:String} AND period = 'week' AND period_start = '2024-02-26'",
        parameters={"p": recap_project},
    ).result_rows[0][0]
    assert f"vs previous week ({previous})" in text

    scores = {
        f"{content_set} {content_key}": (signals, score)
        for content_set, content_key, signals, score in ch.query(
            """
            SELECT content_set, content_key, signals, sentiment_score FROM analytics.agg_content_period
            WHERE project_id = {p:String} AND period = 'week' AND period_start = {w:Date} AND scored_signals > 0
            """,
            parameters={"p": recap_project, "w": dt.date.fromisoformat(WEEK)},
        ).result_rows
    }
    for section, pick in (("TOP CONTENTS", max), ("BOTTOM CONTENTS", min)):
        first = text.split(f"{section}\n", 1)[1].splitlines()[0]
        content, signals, score = re.fullmatch(r"- (.+): (\d+) signals, sentiment ([-+]\d\.\d\d)", first).groups()
        assert scores[content] == (int(signals), pytest.approx(float(score), abs=0.005))
        assert float(score) == pytest.approx(pick(s for _, s in scores.values()), abs=0.005)

    newest = ch.query(
        "SELECT message, sentiment FROM analytics.fct_signals WHERE project_id = {p:String} AND signal_type = 'message' "
        "AND day >= {w:Date} AND day < {w:Date} + 7 ORDER BY created_at DESC LIMIT 1",
        parameters={"p": recap_project, "w": dt.date.fromisoformat(WEEK)},
    ).result_rows[0]
    feedback = text.split("NEWEST WRITTEN FEEDBACK\n", 1)[1]
    assert newest[0] in feedback.splitlines()[1] and f"{newest[1]:+.2f}]" in feedback.splitlines()[0]

    [chart] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert f'src="cid:{chart["Content-ID"].strip("<>")}"' in html
    assert chart.get_content()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_retried_run_sends_nothing_twice_and_catches_up_the_failed(recap_project, smtp_server):
    _, handler = smtp_server
    handler.refuse.pop(FLAKY)  # the busy mailbox is back
    before = {address: len(handler.to(address)) for address in [*OK, FLAKY]}
    for _ in range(2):  # a retry, then the schedule firing once more
        result = _materialize(weekly_recap_emails, WEEK, recap_project)
        assert result.success
    assert {address: len(handler.to(address)) for address in OK} == {address: before[address] for address in OK}
    assert len(handler.to(FLAKY)) == 1
    assert handler.to(BOUNCING) == []  # 5xx: given up, reported, not retried
    metadata = result.asset_materializations_for_node(weekly_recap_emails.op.name)[0].metadata
    assert metadata["sent"].value == 0 and metadata["skipped"].value["already sent"] == 3

    first_ids = {_parse(handler.to(address)[0])["Message-ID"] for address in OK}
    assert _materialize(weekly_recap_emails, WEEK, recap_project, resend=True).success  # a deliberate re-send
    for address in OK:
        assert len(handler.to(address)) == before[address] + 1
    assert not first_ids & {_parse(handler.to(address)[-1])["Message-ID"] for address in OK}


def test_monthly_recap_goes_to_monthly_subscribers_only(recap_project, smtp_server):
    _, handler = smtp_server
    counts = {address: len(handler.to(address)) for address in OK}
    assert _materialize(monthly_recap_emails, MONTH, recap_project).success
    [envelope] = handler.to("carol@example.com")
    message = _parse(envelope)
    assert message["Subject"].startswith("Monthly recap for Recap Docs") and message["Subject"].endswith(": February 2024")
    assert {address: len(handler.to(address)) for address in OK} == counts


def test_recap_html_renders_in_chromium(recap_project, smtp_server, browser, tmp_path):
    _, handler = smtp_server
    message = _parse(handler.to(OK[0])[0])
    html = message.get_body(("html",)).get_content()
    for part in message.walk():  # what a mail client does with cid: references
        if part["Content-ID"]:
            data = base64.b64encode(part.get_content()).decode()
            html = html.replace(f"cid:{part['Content-ID'].strip('<>')}", f"data:{part.get_content_type()};base64,{data}")
    page = browser.new_page(viewport={"width": 700, "height": 1000})
    page.set_content(html, wait_until="load")
    images = page.evaluate("() => [...document.images].map(image => [image.complete, image.naturalWidth, image.naturalHeight])")
    page.screenshot(path=str(tmp_path / "recap.png"), full_page=True)
    page.close()
    assert images and all(complete and width > 0 and height > 0 for complete, width, height in images)

    from PIL import Image, ImageStat

    shot = Image.open(tmp_path / "recap.png").convert("L")
    assert shot.size[0] == 700 and shot.size[1] > 600
    assert ImageStat.Stat(shot).stddev[0] > 20  # not a blank page
    chart_box = shot.crop((60, 200, 640, 420))
    assert len(set(chart_box.getdata())) > 10  # the chart's bars and labels, not an empty frame


def test_schedule_asks_when_monday_morning_comes_in_the_projects_time_zone(jobs_settings):
    project = new_project(jobs_settings, "Kiwi Docs", timezone="Pacific/Auckland", subscribers={"kiri@example.com": "weekly"})
    monday_0630 = dt.datetime(2024, 3, 10, 17, 30, tzinfo=dt.UTC)  # Monday 06:30 in Auckland (UTC+13)
    monday_0730 = monday_0630 + dt.timedelta(hours=1)
    assert not [r for r in recap_run_requests(RecapFrequency.weekly, "weekly_recap_emails", monday_0630) if project in str(r.run_config)]

    repository = dg.Definitions(assets=recaps.assets, jobs=recaps.jobs, schedules=recaps.schedules).get_repository_def()

    def tick(moment: dt.datetime) -> list[dg.RunRequest]:
        context = dg.build_schedule_context(scheduled_execution_time=moment, repository_def=repository)
        return [r for r in weekly_recap_schedule.evaluate_tick(context).run_requests or [] if project in str(r.run_config)]

    requests = tick(monday_0730)
    assert [r.partition_key for r in requests] == [WEEK]
    assert requests[0].run_config["ops"]["weekly_recap_emails"]["config"]["projects"] == [project]
    again = tick(monday_0730 + dt.timedelta(minutes=20))
    assert again[0].run_key == requests[0].run_key  # firing twice in one hour launches one run


def test_the_default_outbox_keeps_one_file_per_message(tmp_path):
    from feelback.mail import open_mailer

    message = EmailMessage()
    message["Message-ID"] = "<recap.weekly.2024-03-04.p1.abc@feelback.test>"
    message["To"] = "ann@example.com"
    message.set_content("hello")
    with open_mailer(f"file://{tmp_path / 'outbox'}") as mailer:
        mailer.send(message, "ann@example.com")
        mailer.send(message, "ann@example.com")  # the same message again replaces its file
    [written] = (tmp_path / "outbox").iterdir()
    assert written.name == "recap.weekly.2024-03-04.p1.abc_feelback.test.eml"
    assert email.message_from_bytes(written.read_bytes(), policy=policy.default)["Message-ID"] == message["Message-ID"]


def test_one_projects_broken_recap_never_stops_the_others(marts_projects, jobs_settings, smtp_server):
    """A name with CR/LF stored before names were checked, a recipient whose address breaks the To
    header, a time zone the system no longer knows: each is that project's (recorded, retryable)
    failure, and every other project still gets its recap, without any injected header."""
    from sqlalchemy import select, update

    from feelback.control_plane.db import session_scope
    from feelback.control_plane.models import DeliveryStatus, Project, RecapDelivery, RecapSubscription

    _, handler = smtp_server
    legacy = new_project(jobs_settings, "Aa legacy", subscribers={"legacy@example.com": "weekly"})
    odd = new_project(jobs_settings, "Ab odd", subscribers={"odd-ok@example.com": "weekly"})
    lost = new_project(jobs_settings, "Ac lost", subscribers={"lost@example.com": "weekly"})
    fine = new_project(jobs_settings, "Zz fine", subscribers={"fine@example.com": "weekly"})
    broken_recipient = "a-odd@example.com\r\nBcc: evil@example.com"
    with session_scope(jobs_settings) as session:  # as if written before the API refused them
        session.execute(update(Project).where(Project.id == legacy).values(name="Legacy\r\nBcc: evil@example.com"))
        session.execute(update(Project).where(Project.id == lost).values(timezone="Mars/Olympus_Mons"))
        session.add(RecapSubscription(project_id=odd, email=broken_recipient, frequency="weekly"))

    result = dg.materialize(
        [weekly_recap_emails],
        partition_key=WEEK,
        run_config={"ops": {weekly_recap_emails.op.name: {"config": {"projects": [legacy, odd, lost, fine]}}}},
        raise_on_error=False,
    )
    assert not result.success  # retryable failures: the step fails after every project had its turn
    for address in ("legacy@example.com", "odd-ok@example.com", "fine@example.com"):
        [envelope] = handler.to(address)
        assert "evil@example.com" not in envelope.rcpt_tos
    assert handler.to("evil@example.com") == [] and handler.to("lost@example.com") == []
    subject = _parse(handler.to("legacy@example.com")[0])["Subject"]
    assert subject.startswith("Weekly recap for Legacy Bcc: evil@example.com: ") and "\n" not in subject

    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE").event_specific_data
    recorded = {(item["project"], item["recipient"]) for item in failure.user_failure_data.metadata["failures"].value}
    assert recorded == {(odd, broken_recipient), (lost, "(every recipient)")}
    with session_scope(jobs_settings) as session:
        [row] = session.scalars(select(RecapDelivery).where(RecapDelivery.project_id == odd, RecapDelivery.recipient == broken_recipient))
        assert (row.status, row.attempts) == (DeliveryStatus.failed, 1) and not row.error.startswith("permanent")
