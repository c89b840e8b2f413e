"""A recap as an e-mail: the bodies of ``render`` and the period's chart as an inline PNG referenced by ``cid:``.

The Message-ID is derived from project, period and recipient, so a message that is sent again after
a lost acknowledgement is recognisably the same message; a deliberate re-send gets its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from feelback.recaps.chart import period_chart_png
from feelback.recaps.render import render_bodies, subject
from feelback.recaps.report import RecapReport


def message_id(report: RecapReport, recipient: str, domain: str, resend: int = 0) -> str:
    who = hashlib.sha256(recipient.strip().lower().encode()).hexdigest()[:16]
    again = f".resend{resend}" if resend else ""
    return f"<recap.{report.period.kind.value}.{report.period.key}.{report.project_id}.{who}{again}@{domain}>"


def build_message(report: RecapReport, recipient: str, sender: str, resend: int = 0, chart_png: bytes | None = None) -> EmailMessage:
    """The complete message for one recipient; ``chart_png`` may be passed to reuse one chart for many."""
    sender_name, sender_address = parseaddr(sender)
    domain = sender_address.rpartition("@")[2] or "feelback.localhost"
    chart_cid = f"chart.{report.period.key}.{report.project_id}@{domain}"
    html, text = render_bodies(report, recipient, f"cid:{chart_cid}")

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
