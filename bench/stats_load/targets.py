"""What the bench reads: widgets' request paths, most popular first, and a Zipf-like pick among them."""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence

KEY_HEADER = "X-Feelback-Key"
# What a widget shows most: one content's all-time and recent numbers; listing pages and rankings less.
WINDOW_MIX = (("all", 5), ("7d", 2), ("30d", 2), ("month", 1))


def widget_targets(sets: Sequence[str], contents: Sequence[str], windows: Sequence[tuple[str, int]] = WINDOW_MIX) -> list[str]:
    """Request paths in popularity order (most read first): per content reads of every set and window
    (weighted), then each set's totals, top 10 and a 20-content batch. ``contents`` most popular first."""
    paths = []
    for content in contents:
        for content_set in sets:
            for window, weight in windows:
                paths += [f"/v1/stats/{content_set}/{content}?window={window}"] * weight
    for content_set in sets:
        batch = "&".join(f"content={content}" for content in contents[:20])
        paths += [f"/v1/stats/{content_set}?window=30d", f"/v1/stats/{content_set}/top?window=7d&by=count&limit=10",
                  f"/v1/stats/{content_set}/batch?window=all&{batch}"]  # fmt: skip
    return paths


class Popularity:
    """Picks targets with Zipf-like skew: the k-th target with weight 1 / k**skew (skew 0: uniformly)."""

    def __init__(self, targets: Sequence[str], skew: float, seed: int):
        self.targets = list(targets)
        weights = [1 / (rank + 1) ** skew for rank in range(len(self.targets))]
        total = sum(weights)
        self.cumulative = [0.0] * len(weights)
        running = 0.0
        for i, weight in enumerate(weights):
            running += weight / total
            self.cumulative[i] = running
        self.rng = random.Random(seed)

    def pick(self) -> str:
        return self.targets[min(bisect.bisect_left(self.cumulative, self.rng.random()), len(self.targets) - 1)]
