"""The recap's chart: signals per day of the period, split by sentiment, as a PNG for an inline image."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from feelback.recaps.report import DailyPoint  # noqa: E402

POSITIVE, NEUTRAL, NEGATIVE, UNSCORED = "#2e9d5b", "#b8bec6", "#d1495b", "#e5e7eb"
WIDTH_PX, HEIGHT_PX, DPI = 560, 220, 100


def period_chart_png(days: Sequence[DailyPoint], title: str) -> bytes:
    figure, axes = plt.subplots(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    try:
        labels = [f"{point.day:%a %d}" if len(days) <= 7 else f"{point.day:%d}" for point in days]
        positive = [point.positive for point in days]
        neutral = [point.neutral for point in days]
        negative = [point.negative for point in days]
        axes.bar(labels, positive, color=POSITIVE, label="positive")
        axes.bar(labels, neutral, bottom=positive, color=NEUTRAL, label="neutral")
        below = [p + n for p, n in zip(positive, neutral)]
        axes.bar(labels, negative, bottom=below, color=NEGATIVE, label="negative")
        unscored = [point.unscored for point in days]
        if any(unscored):
            axes.bar(labels, unscored, bottom=[b + n for b, n in zip(below, negative)], color=UNSCORED, label="not scored yet")
        axes.set_title(title, fontsize=10, loc="left")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(bottom=0, top=None if any(point.signals for point in days) else 1)  # an empty period: 0..1, not ±0.05
        axes.tick_params(labelsize=8)
        if len(days) > 7:
            for index, label in enumerate(axes.get_xticklabels()):
                label.set_visible(index % 3 == 0)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.legend(fontsize=8, frameon=False, ncols=4, loc="upper left", bbox_to_anchor=(0, -0.12))
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()
    finally:
        plt.close(figure)
