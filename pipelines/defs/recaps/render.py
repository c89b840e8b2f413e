"""A recap as an e-mail: HTML for mail clients (tables, inline styles), a plain-text alternative, and
the period's chart as an inline PNG referenced by ``cid:``.

The Message-ID is derived from project, period and recipient, so a message that is sent again after
a lost acknowledgement is recognisably the same message; a deliberate re-send gets its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from feelback.control_plane.models import RecapFrequency
from feelback.domain import one_line
from pipelines.defs.recaps.chart import period_chart_png
from pipelines.defs.recaps.report import RecapReport

TEMPLATES = Path(__file__).parent / "templates"
MOOD_COLORS = {"positive": "#2e9d5b", "neutral": "#6b7280", "negative": "#d1495b", "unscored": "#9ca3af"}


def _pct(value: float | None) -> str:
    return "new" if value is None else f"{value:+.0f}%"


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:+.2f}"


def _signed(value: float | None) -> str:
    return "new" if value is None else f"{value:+.2f}"


def _change_color(value: float | None) -> str:
    if value is None or abs(value) < 1e-9:
        return "#6b7280"
    return MOOD_COLORS["positive"] if value > 0 else MOOD_COLORS["negative"]


def _local_time(value: dt.datetime, timezone: str) -> str:
    return value.astimezone(ZoneInfo(timezone)).strftime("%a %d %b %H:%M")


def _environment(html: bool) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html.j2"]) if html else False,
        undefined=StrictUndefined,
        trim_blocks=not html,
        lstrip_blocks=not html,
    )
    environment.filters.update(pct=_pct, score=_score, signed=_signed, local_time=_local_time)
    environment.globals.update(change_color=_change_color, mood_color=MOOD_COLORS)
    return environment


_HTML = _environment(html=True)
_TEXT = _environment(html=False)


def subject(report: RecapReport) -> str:
    kind = "Weekly" if report.period.kind is RecapFrequency.weekly else "Monthly"
    # Names are refused with control characters; one stored before that rule still makes one line.
    return f"{kind} recap for {one_line(report.project_name)}: {report.period.label}"


def message_id(report: RecapReport, recipient: str, domain: str, resend: int = 0) -> str:
    who = hashlib.sha256(recipient.strip().lower().encode()).hexdigest()[:16]
    again = f".resend{resend}" if resend else ""
    return f"<recap.{report.period.kind.value}.{report.period.key}.{report.project_id}.{who}{again}@{domain}>"


def render_bodies(report: RecapReport, recipient: str, chart_cid: str = "period-chart") -> tuple[str, str]:
    context = dict(
        report=report,
        recipient=recipient,
        subject=subject(report),
        kind_label="Weekly" if report.period.kind is RecapFrequency.weekly else "Monthly",
        previous_label="previous week" if report.period.kind is RecapFrequency.weekly else "previous month",
        chart_cid=chart_cid,
    )
    return _HTML.get_template("recap.html.j2").render(context), _TEXT.get_template("recap.txt.j2").render(context)


def build_message(report: RecapReport, recipient: str, sender: str, resend: int = 0, chart_png: bytes | None = None) -> EmailMessage:
    """The complete message for one recipient; ``chart_png`` may be passed to reuse one chart for many."""
    sender_name, sender_address = parseaddr(sender)
    domain = sender_address.rpartition("@")[2] or "feelback.localhost"
    chart_cid = f"chart.{report.period.key}.{report.project_id}@{domain}"
    html, text = render_bodies(report, recipient, chart_cid)

    message = EmailMessage()
    message["Subject"] = subject(report)
    message["From"] = Address(display_name=sender_name, addr_spec=sender_address)
    message["To"] = recipient
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = message_id(report, recipient, domain, resend)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Feelback-Project"] = report.project_id
    message["X-Feelback-Period"] = f"{report.period.kind.value} {report.period.key}"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    html_part = message.get_payload()[1]
    png = chart_png if chart_png is not None else period_chart_png(report.daily, f"Signals per day, {report.period.label}")
    html_part.add_related(png, maintype="image", subtype="png", cid=f"<{chart_cid}>", filename="chart.png", disposition="inline")
    return message
