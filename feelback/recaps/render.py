"""A recap's bodies: HTML for mail clients (tables, inline styles) and a plain-text alternative.

The HTML template autoescapes: project names, content keys and visitors' messages are text, never markup.
The chart is an ``<img>`` whose source the caller names: a ``cid:`` of the e-mail's inline part
(``message``), or a ``data:`` URL for the preview in the panel (``preview``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from feelback.control_plane.models import RecapFrequency
from feelback.domain import one_line
from feelback.recaps.report import RecapReport

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


def render_bodies(report: RecapReport, recipient: str, chart_src: str = "cid:period-chart") -> tuple[str, str]:
    """(HTML, text) of the recap addressed to ``recipient``; the chart image is loaded from ``chart_src``."""
    context = dict(
        report=report,
        recipient=recipient,
        subject=subject(report),
        kind_label="Weekly" if report.period.kind is RecapFrequency.weekly else "Monthly",
        previous_label="previous week" if report.period.kind is RecapFrequency.weekly else "previous month",
        chart_src=chart_src,
    )
    return _HTML.get_template("recap.html.j2").render(context), _TEXT.get_template("recap.txt.j2").render(context)
