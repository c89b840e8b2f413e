"""Stats API load: open-loop latency at a fixed offered rate, and closed-loop maximum requests/s.

    .venv/bin/python -m bench.stats_load [--events 200000] [--rate 500] [--seconds 10] [--connections 64]
    .venv/bin/python -m bench.stats_load --base-url http://127.0.0.1:8000 --key fb_pk_... --target /v1/stats/votes/page-1 ...

Alone, it builds a world under a temporary folder: a local ClickHouse server, a project with one
content set per type, ``--events`` raw events over 90 days (skewed popularity, edits, revokes), a
dbt build, then a few thousand events after the build (so reads merge a live delta), and the API
as a uvicorn subprocess. With ``--base-url`` it loads an API that is already running.

Open loop: requests are scheduled at ``rate``/s (Poisson arrivals, or fixed intervals) whatever
the answers do, and each latency runs from the *scheduled* send time, so a stall is not hidden by
the generator waiting for it (no coordinated omission). The generator is a lean client of its own
(raw keep-alive connections, requests encoded beforehand, its own process, microsecond timers,
perf_counter clocks; see "open loop" below) and reports its own send lag and the API's time from
the actual send beside the latencies.
Closed loop: ``connections`` clients, each sending its next request as soon as the previous answer
arrives (wrk when installed, else aiohttp in several processes, so the client is not the
bottleneck); requests/s is the server's maximum at that concurrency. Both also run on the app's
``/healthz`` as a baseline (one FastAPI route: the framework's own cost on the same machine at the
same moment) and, from the command line, on a trivial HTTP responder in its own process: the
generators' floor (open-loop latency) and ceiling (closed-loop requests/s) on this machine.
The machine's load average is printed before and after: on a shared machine, judge by ratios.
Targets are read with Zipf-like popularity, after one warm-up read of each.

The pipeline bench (bench/pipeline.py) imports ``measure_stats_api``, ``register_project``,
``widget_targets`` and ``serve_api`` from this package. Its modules: ``targets`` (what is read, how
often), ``open_loop`` and ``closed_loop`` (the two load generators), ``floor`` (the trivial responder),
``measure`` (one measurement of a running API), ``api`` (a project and the API for benches),
``world`` (the bench's own warehouse), ``report`` (the printout), ``__main__`` (the command line).
"""

from bench.stats_load.api import register_project, serve_api
from bench.stats_load.measure import measure_stats_api
from bench.stats_load.targets import widget_targets

__all__ = ["measure_stats_api", "register_project", "serve_api", "widget_targets"]
