"""Password guessing is slowed, then refused, the same way for every address; and answers about an
address take as long whether or not it has an account."""

from __future__ import annotations

import statistics
import time

import pytest

from feelback.control_plane.account_models import SignInLockout
from feelback.control_plane.db import get_engine, get_sessionmaker
from feelback.control_plane.lockout import LockoutPolicy
from feelback.settings import Settings
from ingest_api.app import create_app
from ingest_api.auth.limits import AccountLimits, AttemptThrottle, MailRequests
from tests.fixtures.control_db import ADMIN_TOKEN, fresh_control_db
from tests.accounts.conftest import PASSWORD, Browser, error_of, new_email, sign_up_and_verify


@pytest.fixture()
def control_settings(tmp_path):
    """Throttles and timing live in the API process, not in the DB: SQLite alone is enough here."""
    settings = Settings(database_url=fresh_control_db("sqlite", tmp_path), admin_token=ADMIN_TOKEN)
    yield settings
    get_engine(settings).dispose()


def _timed(call):
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def test_sign_in_guessing_is_slowed_then_refused_alike_for_unknown_addresses(app, mailbox):
    app.state.account_limits = AccountLimits(
        sign_in_by_email=AttemptThrottle(free=2, refuse_after=5, window_seconds=600, max_delay=1.0),
        sign_in_by_client=AttemptThrottle(free=100, refuse_after=1000),
    )
    registered = new_email("target")
    sign_up_and_verify(app, mailbox, registered)
    for address in (registered, new_email("nobody")):
        guesser = Browser(app)
        answers = [_timed(lambda: guesser.post("/v1/auth/sign-in", {"email": address, "password": f"guess {i:04d} pwd"})) for i in range(5)]
        assert [response.status_code for response, _ in answers] == [401] * 5
        # the 3rd, 4th and 5th failures wait 0.5 s, 1 s and 1 s (max_delay) before answering
        for (_, seconds), delay in zip(answers[2:], (0.5, 1.0, 1.0)):
            assert seconds >= delay, (address, [round(s, 3) for _, s in answers])
        refused = guesser.post("/v1/auth/sign-in", {"email": address, "password": "guess 9999 pwd"})
        assert refused.status_code == 429 and error_of(refused)[0] == "too_many_attempts"
        assert 500 < int(refused.headers["retry-after"]) <= 600
        # locked out means locked out: not even the right password now
        assert guesser.post("/v1/auth/sign-in", {"email": address, "password": PASSWORD}).status_code == 429
    assert Browser(app).post("/v1/auth/sign-in", {"email": new_email(), "password": PASSWORD}).status_code == 401  # others unaffected


def test_the_lockout_holds_across_api_processes_and_ends(app, mailbox, accounts_settings):
    """Two apps on one DB stand for two API workers: failures counted by either lock the address on both."""
    loose = dict(sign_in_by_email=AttemptThrottle(free=100, refuse_after=1000), sign_in_by_client=AttemptThrottle(free=100, refuse_after=1000))
    second = create_app(accounts_settings)
    for worker in (app, second):
        worker.state.account_limits = AccountLimits(**loose, lockout=LockoutPolicy(attempts=3, window_seconds=600, lock_seconds=600))
    registered = new_email("target")
    sign_up_and_verify(app, mailbox, registered)
    for address in (registered, new_email("nobody")):
        one, two = Browser(app), Browser(second)
        wrong = {"email": address, "password": "not the password"}
        assert [one.post("/v1/auth/sign-in", wrong).status_code, two.post("/v1/auth/sign-in", wrong).status_code,
                one.post("/v1/auth/sign-in", wrong).status_code] == [401, 401, 401]
        for browser in (one, two):
            locked = browser.post("/v1/auth/sign-in", {"email": address, "password": PASSWORD})
            assert locked.status_code == 429 and 590 < int(locked.headers["retry-after"]) <= 600
    with get_sessionmaker(accounts_settings).begin() as db:  # the lock's time is up
        for row in db.query(SignInLockout):
            row.locked_until = row.window_started_at
    assert Browser(second).post("/v1/auth/sign-in", {"email": registered, "password": PASSWORD}).status_code == 200
    with get_sessionmaker(accounts_settings)() as db:
        assert db.query(SignInLockout).count() == 1  # the unknown address's; success cleared the other


def test_one_client_guessing_many_addresses_is_refused(app):
    app.state.account_limits = AccountLimits(sign_in_by_client=AttemptThrottle(free=100, refuse_after=4))
    guesser = Browser(app)
    codes = [guesser.post("/v1/auth/sign-in", {"email": new_email(), "password": "some password"}).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 401, 429]


def test_mail_requests_are_limited_per_client(app):
    app.state.account_limits = AccountLimits(mail=MailRequests(per_address_per_hour=5, per_client_per_hour=3))
    browser = Browser(app)
    codes = [browser.post("/v1/auth/password-reset", {"email": new_email()}).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]


def _paired_differences(known, unknown, rounds: int) -> list[float]:
    """Seconds the known address's answer took more than the unknown's, pair by pair; the order
    alternates, so load on the machine and warm caches favour neither."""
    differences = []
    for round_ in range(rounds):
        pair = {}
        for name in (("known", "unknown") if round_ % 2 == 0 else ("unknown", "known")):
            response, seconds = _timed(known if name == "known" else unknown)
            assert response.status_code in (202, 401), response.text
            pair[name] = seconds
        differences.append(pair["known"] - pair["unknown"])
    return differences


def test_answers_take_as_long_for_registered_and_unknown_addresses(app, mailbox):
    app.state.account_limits = AccountLimits(
        sign_in_by_email=AttemptThrottle(free=1000, refuse_after=10_000),
        sign_in_by_client=AttemptThrottle(free=1000, refuse_after=10_000),
        mail=MailRequests(per_address_per_hour=10_000, per_client_per_hour=10_000),
        lockout=LockoutPolicy(attempts=10_000),
    )
    registered = new_email("known")
    sign_up_and_verify(app, mailbox, registered)
    browser = Browser(app)

    def post(path, body):
        return lambda: browser.post(path, body)

    checks = {
        "sign-in": (post("/v1/auth/sign-in", {"email": registered, "password": "wrong password"}),
                    post("/v1/auth/sign-in", {"email": new_email(), "password": "wrong password"})),
        "sign-up": (post("/v1/auth/sign-up", {"email": registered, "password": PASSWORD}),
                    lambda: browser.post("/v1/auth/sign-up", {"email": new_email(), "password": PASSWORD})),
        "password reset": (post("/v1/auth/password-reset", {"email": registered}), post("/v1/auth/password-reset", {"email": new_email()})),
        "sign-in link": (post("/v1/auth/magic-link", {"email": registered}), post("/v1/auth/magic-link", {"email": new_email()})),
    }
    for name, (known, unknown) in checks.items():
        differences = _paired_differences(known, unknown, rounds=8)
        typical = statistics.median(differences)
        # Noise: how much the differences themselves scatter (median absolute deviation), plus 5 ms.
        # Skipping the Argon2id hash for unknown addresses would shift them by its whole cost (0.1-1 s);
        # sign-up and link requests also answer no sooner than a floor, hiding a row insert or a signing.
        noise = 2 * statistics.median(abs(d - typical) for d in differences) + 0.005
        assert abs(typical) <= noise, (name, [round(d, 4) for d in differences])
