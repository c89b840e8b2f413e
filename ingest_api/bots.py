"""Known crawlers by user agent, using the maintained CrawlerDetect patterns.

Signals from crawlers are stored with ``is_bot = true`` and left out of every count downstream:
keeping them lets analysts see bot traffic and undo a misclassification, and a bot gets the same
answer as a person so it cannot tell it was spotted.
"""

from __future__ import annotations

from functools import lru_cache

from crawlerdetect import CrawlerDetect

_detector = CrawlerDetect()


@lru_cache(maxsize=4096)
def is_bot(user_agent: str) -> bool:
    """True for user agents of known crawlers, scrapers and HTTP libraries."""
    return bool(user_agent) and bool(_detector.isCrawler(user_agent))
