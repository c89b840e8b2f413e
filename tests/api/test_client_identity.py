"""Who a client is, as the API decides it: its network address, from X-Forwarded-For only when the
connection comes from a trusted proxy; and logs that never hold that address.

A real API process (``feelback up``'s command) on loopback; the test client plays the proxy.
"""

from __future__ import annotations

import signal
import uuid

import httpx
import pytest

from feelback.log import scrub_text
from feelback.settings import Settings, SettingsError, load_settings
from ingest_api.ratelimit import network_of
from tests.api.ingest_support import BROWSER_UA, ApiProcess, ingest_settings, seed_project

LIMIT = 5  # visitor operations per minute in these tests
FORWARDED = "203.0.113.7"
OTHER_FORWARDED = "198.51.100.23"


def start_api(clickhouse_server, tmp_path, log_level="warning", trusted="", workers=1) -> tuple[ApiProcess, str]:
    settings = ingest_settings(tmp_path / "home")
    project = seed_project(settings)
    api = ApiProcess(settings, clickhouse_server.url, workers, FEELBACK_RATE_LIMIT_VISITOR_PER_MINUTE=str(LIMIT),
                     FEELBACK_TRUSTED_PROXIES=trusted, FEELBACK_LOG_LEVEL=log_level)  # fmt: skip
    api.settings = api.settings.model_copy(
        update={"log_level": log_level, "trusted_proxies": Settings(trusted_proxies=trusted).trusted_proxies}
    )
    return api.start(), project.public_key


def create(client: httpx.Client, n: int, forwarded_for: str | None = None) -> httpx.Response:
    """A create that names a new visitor each time (anonymous id, user agent), as an evading client would."""
    headers = {"User-Agent": f"{BROWSER_UA} build/{n}"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    body = {"content_set": "hearts", "content_key": "/who", "anonymous_id": f"visitor-{uuid.uuid4().hex[:12]}"}
    return client.post("/v1/signals", json=body, headers=headers)


def test_a_spoofed_forwarded_for_from_loopback_is_still_limited(clickhouse_server, tmp_path):
    api, key = start_api(clickhouse_server, tmp_path)
    try:
        with httpx.Client(base_url=api.url, headers={"X-Feelback-Key": key}, timeout=10) as client:
            statuses = [create(client, n, forwarded_for=f"10.9.{n}.{n}").status_code for n in range(LIMIT + 3)]
    finally:
        api.kill(signal.SIGTERM)
    assert statuses == [201] * LIMIT + [429] * 3


def test_a_trusted_proxy_names_the_client(clickhouse_server, tmp_path):
    api, key = start_api(clickhouse_server, tmp_path, trusted="127.0.0.1")
    try:
        with httpx.Client(base_url=api.url, headers={"X-Feelback-Key": key}, timeout=10) as client:
            # The proxy appends the address it saw; whatever the client put before it is not believed.
            first = [create(client, n, forwarded_for=f"10.0.0.{n}, {FORWARDED}").status_code for n in range(LIMIT + 1)]
            other = create(client, 99, forwarded_for=OTHER_FORWARDED).status_code
    finally:
        api.kill(signal.SIGTERM)
    assert first == [201] * LIMIT + [429]
    assert other == 201


@pytest.mark.parametrize(("log_level", "workers"), [("info", 1), ("debug", 2)])
def test_logs_hold_no_client_address(clickhouse_server, tmp_path, log_level, workers):
    api, key = start_api(clickhouse_server, tmp_path, log_level=log_level, trusted="127.0.0.1", workers=workers)
    try:
        with httpx.Client(base_url=api.url, headers={"X-Feelback-Key": key}, timeout=10) as client:
            statuses = {create(client, n, forwarded_for=FORWARDED).status_code for n in range(LIMIT + 1)}
            client.get("/no/such/route")
            client.post("/v1/signals", content=b"{not json", headers={"X-Forwarded-For": FORWARDED})
    finally:
        api.kill(signal.SIGTERM)
    text = api.log.read_text()
    assert "127.0.0.1" not in text and FORWARDED not in text
    assert '"POST /v1/signals HTTP/1.1" 201' in text and "ip-" in text  # the access log is there, at this level
    assert statuses == {201, 429} if workers == 1 else 201 in statuses  # a visitor's limit is per worker


def test_trusted_proxies_setting():
    assert Settings().trusted_proxies == []
    assert Settings(trusted_proxies="127.0.0.1, 10.0.0.0/8 ,::1").trusted_proxies == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]


def test_a_trusted_proxy_that_is_not_an_address_stops_start_up(monkeypatch):
    monkeypatch.setenv("FEELBACK_TRUSTED_PROXIES", "*")
    with pytest.raises(SettingsError, match="FEELBACK_TRUSTED_PROXIES"):
        load_settings()


def test_an_ipv6_client_is_limited_by_its_64():
    assert network_of("2001:db8:1:2:aaaa::1") == network_of("2001:db8:1:2:ffff::9") == "2001:db8:1:2::"
    assert network_of("2001:db8:1:3::1") != network_of("2001:db8:1:2::1")
    assert network_of("::ffff:192.0.2.1") == network_of("192.0.2.1") == "192.0.2.1"


def test_log_scrubbing_keeps_times_and_hashes_addresses():
    line = scrub_text('2026-12-06T10:15:46Z 127.0.0.1:5432 - [2001:db8::1]:80 "GET /x HTTP/1.1" 200')
    assert "127.0.0.1" not in line and "2001:db8::1" not in line
    assert line.startswith("2026-12-06T10:15:46Z ip-") and line.endswith('"GET /x HTTP/1.1" 200')
    assert scrub_text("127.0.0.1") == scrub_text("127.0.0.1") != scrub_text("127.0.0.2")
