"""SDK benchmark in Debian's Chromium on loopback (prints figures; not a test).

    .venv/bin/python -m bench.sdk [--loads 15] [--widgets 50] [--clicks 200]

Builds nothing: run ``make install`` (or ``cd sdk && npm run build``) first. Starts a local
ClickHouse server and the API (as ``feelback up`` does, one worker) under ``bench/.data/``, with the
demo project and the per-visitor rate limit raised (one page plays the visitor of every click), and
prints:

(a) the size of each build, raw and gzipped (-9);
(b) on a page with ``--widgets`` yes/no widgets of one set (each content with a count), the time
    from the script tag to every widget interactive with its counts (its ``:state(ready)``), and
    from navigation start; median and max over ``--loads`` loads in fresh contexts (the script
    fetched each time) and over reloads with the script cached; and the stats and config
    requests one load made (expected: one of each);
(c) click → acknowledged (the element's feelback:* event) p50/p99 over ``--clicks`` clicks, one
    after the other, cycling create, edit, revoke.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time

import httpx

from bench.browser_timing import REPO, UA, chromium, demo_stack, percentile
from tests.sdk.support import DIST, PageServer

MEASURE = """<script>
window.__scriptTag = performance.now();
document.addEventListener('feelback:ready', () => {
  if (!window.__ready && document.querySelectorAll(':state(ready)').length >= %d) window.__ready = performance.now();
});
</script>"""

CLICKS = """async (n) => {
  const host = document.querySelector('feelback-yesno');
  const yes = host.shadowRoot.querySelector('[data-v=yes]'), no = host.shadowRoot.querySelector('[data-v=no]');
  const kinds = ['sent', 'edited', 'revoked', 'failed'];
  const times = [], seen = {};
  for (let i = 0; i < n; i++) {
    const done = new Promise((resolve) => {
      const on = (event) => { kinds.forEach((k) => host.removeEventListener('feelback:' + k, on)); resolve(event.type); };
      kinds.forEach((k) => host.addEventListener('feelback:' + k, on));
    });
    const began = performance.now();
    (i % 3 === 0 ? yes : no).click();   // create (yes), edit (no), revoke (no again)
    const kind = await done;
    times.push(performance.now() - began);
    seen[kind] = (seen[kind] || 0) + 1;
  }
  return {times, seen};
}"""


def sizes() -> None:
    print("(a) build sizes")
    for name in ("feelback.js", "feelback.mjs"):
        body = (DIST / name).read_bytes()
        print(f"    {name:<13} {len(body):>6,} B raw  {len(gzip.compress(body, 9)):>6,} B gzipped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=15)
    parser.add_argument("--widgets", type=int, default=50)
    parser.add_argument("--clicks", type=int, default=200)
    args = parser.parse_args()
    if not (DIST / "feelback.js").exists():
        sys.exit("the SDK is not built: run make install (or cd sdk && npm run build)")
    sizes()

    pages = PageServer()
    try:
        with demo_stack(REPO / "bench" / ".data" / f"sdk-{int(time.time())}") as stack:
            run(stack.url, stack.demo.public_key, pages, args)
    finally:
        pages.close()


def run(url: str, public_key: str, pages: PageServer, args: argparse.Namespace) -> None:
    contents = [f"/bench/{index}" for index in range(args.widgets)]
    seeded = httpx.post(
        f"{url}/v1/batch", headers={"X-Feelback-Key": public_key, "User-Agent": UA},
        json={"operations": [{"op": "create", "content_set": "demo-yesno", "content_key": key, "value": "yes",
                              "anonymous_id": f"bench-visitor-{index}"} for index, key in enumerate(contents)]},
    )  # fmt: skip
    seeded.raise_for_status()
    time.sleep(2.5)  # counted by the stats API's live part

    script = f'<script src="{url}/sdk/v1/feelback.js" data-key="{public_key}" defer></script>'
    widgets = "".join(f'<p><feelback-yesno set="demo-yesno" content="{key}"></feelback-yesno></p>' for key in contents)
    page_url = pages.add("/many.html", f"<!doctype html><html lang=en><head><title>bench</title>{MEASURE % args.widgets}{script}</head><body>{widgets}</body></html>")
    click_url = pages.add("/click.html", f'<!doctype html><html lang=en><head><title>bench</title>{script}</head><body><feelback-yesno set="demo-yesno" content="/bench/clicks"></feelback-yesno></body></html>')  # noqa: E501

    with chromium() as browser:

        def load(page) -> tuple[float, float]:
            page.wait_for_function("window.__ready !== undefined", timeout=30_000)
            tag, ready = page.evaluate("[window.__scriptTag, window.__ready]")
            return ready - tag, ready

        cold, cold_nav, warm, warm_nav, requests = [], [], [], [], []
        fetches: dict[str, list[tuple[float, float]]] = {}  # kind -> (start, duration) in fresh loads
        for attempt in range(args.loads):
            context = browser.new_context(user_agent=UA)
            page = context.new_page()
            seen: list[str] = []
            page.on("request", lambda request, seen=seen: seen.append(request.url))
            page.goto(page_url)
            from_tag, from_nav = load(page)
            cold.append(from_tag)
            cold_nav.append(from_nav)
            for entry in page.evaluate("performance.getEntriesByType('resource').map(e => [e.name, e.startTime, e.responseEnd])"):
                kind = "script" if "/sdk/" in entry[0] else "config" if "widget-config" in entry[0] else "stats" if "/v1/stats/" in entry[0] else None
                if kind:
                    fetches.setdefault(kind, []).append((entry[1], entry[2] - entry[1]))
            counts = page.evaluate("[...document.querySelectorAll('feelback-yesno')].map(e => e.shadowRoot.querySelector('.count').textContent)")
            assert counts == ["1"] * args.widgets, counts[:5]
            if attempt == 0:
                requests = list(seen)
            page.reload()
            from_tag, from_nav = load(page)
            warm.append(from_tag)
            warm_nav.append(from_nav)
            context.close()
        stats_reads = [seen for seen in requests if "/v1/stats/" in seen]
        config_reads = [seen for seen in requests if "/v1/widget-config" in seen]
        print(f"(b) {args.widgets} widgets interactive with counts, {args.loads} loads "
              f"(requests of one load: {len(stats_reads)} stats read, {len(config_reads)} config read, {len(requests)} in all)")  # fmt: skip
        print(f"    fresh context: script tag -> ready median {statistics.median(cold):.0f} ms (max {max(cold):.0f}); "
              f"navigation -> ready median {statistics.median(cold_nav):.0f} ms")  # fmt: skip
        print("    fresh context, median start + duration of: " + ", ".join(
            f"{kind} {statistics.median(s for s, _ in times):.0f} + {statistics.median(d for _, d in times):.0f} ms"
            for kind, times in fetches.items()))  # fmt: skip
        print(f"    script cached: script tag -> ready median {statistics.median(warm):.0f} ms (max {max(warm):.0f}); "
              f"navigation -> ready median {statistics.median(warm_nav):.0f} ms")  # fmt: skip

        context = browser.new_context(user_agent=UA)
        page = context.new_page()
        page.goto(click_url)
        page.wait_for_selector("feelback-yesno:state(ready)", state="attached")
        result = page.evaluate(CLICKS, args.clicks)
        times = result["times"]
        print(f"(c) click -> acknowledged over {args.clicks} clicks ({result['seen']}): "
              f"p50 {percentile(times, 0.5):.1f} ms, p99 {percentile(times, 0.99):.1f} ms, max {max(times):.1f} ms")  # fmt: skip
        context.close()


if __name__ == "__main__":
    main()
