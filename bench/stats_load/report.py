"""The printout of a measurement, with the targets it is judged by."""

from __future__ import annotations

import os

# A generator sending this late at p99 was itself short of CPU (on a quiet machine it is well under 1 ms).
STARVED_LAG_MS = 5.0


def print_report(result: dict) -> None:
    parts = [("stats", result), ("/healthz", result.get("baseline")), ("trivial responder (generator floor)", result.get("floor"))]
    for name, part in parts:
        if part is None:
            continue
        opened, closed = part["open_loop"], part["closed_loop"]
        print(f"{name}: open loop {opened['offered_rps']:.0f} req/s offered ({opened['schedule']}), {opened['requests']:,} "
              f"requests, statuses {opened['statuses']}")  # fmt: skip
        print(f"    p50 {opened['p50_ms']:.2f} ms   p90 {opened['p90_ms']:.2f} ms   p99 {opened['p99_ms']:.2f} ms   "
              f"max {opened['max_ms']:.1f} ms   (from the actual send: p50 {opened['from_send_p50_ms']:.2f} ms, "
              f"p99 {opened['from_send_p99_ms']:.2f} ms; generator send lag p50 {opened['send_lag_p50_ms']:.2f} ms, "
              f"p99 {opened['send_lag_p99_ms']:.2f} ms)")  # fmt: skip
        print(f"    closed loop {closed['connections']} connections ({closed['client']}): {closed['max_rps']:,.0f} req/s, "
              f"p50 {closed['p50_ms']:.1f} ms, p99 {closed['p99_ms']:.1f} ms, errors {closed['errors']}")  # fmt: skip
        if opened["send_lag_p99_ms"] > STARVED_LAG_MS:
            print(f"    WARNING: the generator itself sent late (send lag p99 {opened['send_lag_p99_ms']:.1f} ms): the machine was "
                  "short of CPU, so these latencies measure the machine as much as the API")  # fmt: skip
    if "load_average_before" in result:
        print(f"load average (1, 5, 15 min) before {result['load_average_before']}, after {result['load_average_after']} "
              f"on {os.cpu_count()} cores; CPU pressure before {result['cpu_pressure_before']}, "
              f"after {result['cpu_pressure_after']}")  # fmt: skip
    print("targets: p50 <= 5 ms, p99 <= 25 ms at 500 req/s; >= 2,000 req/s at 64 connections")
