"""The recap of a project's last complete week or month, made to be shown in a browser (the panel).

The same report, template and chart as the e-mail, with two differences: the chart is a ``data:`` URL
(a browser has no ``cid:`` parts), and the document carries a Content-Security-Policy that lets it
load nothing and run nothing (inline styles and that image only), on top of the sandboxed iframe the
panel shows it in, and a style that fits the 600 px e-mail to a narrower frame as phones' mail apps do. Visitors' messages are escaped by the template, so they stay text either way.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

from feelback.control_plane.models import RecapFrequency
from feelback.recaps.periods import Period, last_complete_period
from feelback.recaps.queries import build_report
from feelback.recaps.render import render_bodies, subject
from feelback.recaps.report import DailyPoint, RecapReport

PREVIEW_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
# Mail clients on phones shrink the 600 px e-mail to the screen; a browser frame needs to be told.
NARROW_STYLE = (
    '@media (max-width: 620px) { table[width="600"] { width: 100% !important; } }'
    # Below ~470 px its tables cannot narrow further: zoom out.
    " @media (max-width: 470px) { body { zoom: 0.85; } }"
    " @media (max-width: 400px) { body { zoom: 0.7; } }"
    " @media (max-width: 330px) { body { zoom: 0.6; } }"
)
# pyplot keeps global state: an API process draws one chart at a time.
_CHART_LOCK = threading.Lock()


@dataclass(frozen=True)
class RecapPreview:
    report: RecapReport
    subject: str
    html: str
    text: str


def empty_report(project_id: str, project_name: str, timezone: str, period: Period) -> RecapReport:
    """What the recap says when the marts hold nothing for the project (or do not exist yet)."""
    return RecapReport(
        project_id=project_id, project_name=project_name, timezone=timezone, period=period,
        totals=[], top=[], bottom=[], movers=[], feedback=[], daily=[DailyPoint(day, 0, 0, 0) for day in period.days],
    )  # fmt: skip


def last_report(client: Client, project_id: str, project_name: str, timezone: str, kind: RecapFrequency, now: dt.datetime) -> RecapReport:
    """The report of the newest period of ``kind`` that ended before ``now`` in the project's time zone."""
    return build_report(client, project_id, project_name, timezone, last_complete_period(kind, timezone, now))


def render_preview(report: RecapReport, recipient: str) -> RecapPreview:
    # Imported here: matplotlib is loaded by the process that draws a chart, not by every importer.
    from feelback.recaps.chart import period_chart_png

    with _CHART_LOCK:
        png = period_chart_png(report.daily, f"Signals per day, {report.period.label}")
    chart_src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    html, text = render_bodies(report, recipient, chart_src)
    head = f'<meta http-equiv="Content-Security-Policy" content="{PREVIEW_POLICY}">\n<style>{NARROW_STYLE}</style>'
    html = html.replace("<head>", "<head>\n" + head, 1)
    return RecapPreview(report, subject(report), html, text)
