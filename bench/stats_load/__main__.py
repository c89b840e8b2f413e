"""``python -m bench.stats_load``: the command line (see the package docstring)."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

import bench.stats_load
from bench import synthetic
from bench.stats_load.api import serve_api
from bench.stats_load.measure import measure_stats_api
from bench.stats_load.report import print_report
from bench.stats_load.targets import widget_targets
from bench.stats_load.world import build_world, popular_contents


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stats_load", description=bench.stats_load.__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="history size when building a world")
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the API")
    parser.add_argument("--fixed", action="store_true", help="fixed intervals instead of Poisson arrivals")
    parser.add_argument("--no-floor", action="store_true", help="skip measuring the generators on a trivial responder")
    parser.add_argument("--base-url", help="load this running API instead of building a world")
    parser.add_argument("--key", help="public key for --base-url")
    parser.add_argument("--target", action="append", help="request path for --base-url (repeat; most popular first)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the API and the server on the way out
    options = dict(rate=args.rate, seconds=args.seconds, connections=args.connections, poisson=not args.fixed,
                   client_processes=args.client_processes, floor=not args.no_floor)  # fmt: skip

    if args.base_url:
        if not (args.key and args.target):
            parser.error("--base-url needs --key and at least one --target")
        print_report(measure_stats_api(args.base_url, args.key, args.target, **options))
        return
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as folder:
        env, key = build_world(Path(folder), args.events)
        with serve_api(env, workers=args.workers) as url:
            targets = widget_targets(list(synthetic.CONTENT_SETS), popular_contents())
            print(f"API {url}, {len(set(targets)):,} distinct targets read with skewed popularity")
            print_report(measure_stats_api(url, key, targets, **options))


if __name__ == "__main__":
    main()
