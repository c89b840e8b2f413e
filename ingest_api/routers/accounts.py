"""People's accounts: sign up, verify, sign in (password or mailed link), reset, sign out, ``/v1/me``.

Answers to requests naming an e-mail address never tell whether it has an account: sign-up, link and
reset requests all answer 202 with the same words, no sooner than a fixed floor, and the same work
(mails leave from a background thread; an unknown address still costs one Argon2id hash). Sign-in failures are slowed,
then refused (``ingest_api.auth.limits``). Routes that change something with a session pass the
CSRF checks (``ingest_api.auth.csrf``); sign-in and sign-up check the request's origin.
See ``ingest_api/auth/README.md`` for the routes and what the panel does with them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feelback.control_plane.account_models import Membership, Organization, Role, User
from feelback.control_plane import lockout
from feelback.control_plane.links import BadLink, LinkPurpose
from feelback.control_plane.models import utcnow
from feelback.control_plane.passwords import check_new_password, hash_password, verify_password
from feelback.control_plane.sessions import idle_deadline, revoke_session, revoke_user_sessions, start_session
from feelback.control_plane.users import OPERATOR_USER_ID, create_user, find_user, rotate_link_nonce, set_password
from feelback.settings import Settings
from ingest_api.auth.csrf import check_request_origin
from ingest_api.auth.limits import AccountLimits, client_key, too_many
from ingest_api.auth.mails import AccountMail, lifetime
from ingest_api.auth.schemas import (
    AccountDelete,
    Accepted,
    EmailChange,
    EmailRequest,
    MeOut,
    OrganizationOut,
    PasswordChange,
    PasswordResetConfirm,
    ProfileUpdate,
    SignIn,
    SignUp,
    TokenBody,
    UserOut,
)
from ingest_api.auth.sessions import CurrentUser, clear_session_cookies, set_session_cookies
from ingest_api.dependencies import DbSession, get_app_settings
from ingest_api.errors import ApiError, conflict, invalid

router = APIRouter(tags=["accounts"])
AppSettings = Annotated[Settings, Depends(get_app_settings)]
CHECK_INBOX = "If {email} can receive it, a mail with a link is on its way; check your inbox."
# Answers naming an address take at least this long (an account's row insert, or a link's signing,
# must not show); sign-up hashes a password either way, so its floor sits above one Argon2id hash.
SIGN_UP_FLOOR_SECONDS = 0.5
LINK_REQUEST_FLOOR_SECONDS = 0.25


def _limits(request: Request) -> AccountLimits:
    return request.app.state.account_limits


def _mail(request: Request) -> AccountMail:
    return request.app.state.account_mail


def _bad_link(exc: BadLink) -> ApiError:
    return ApiError(410 if exc.expired else 400, "link_expired" if exc.expired else "invalid_link", str(exc))


def _load_link(request: Request, purpose: LinkPurpose, token: str) -> dict:
    try:
        return _mail(request).load(purpose, token)
    except BadLink as exc:
        raise _bad_link(exc) from None


def _used_link() -> ApiError:
    return ApiError(410, "link_used", "this link was already used or replaced by a newer one; ask for a new one")


def me_out(db: Session, user: User, signed_in_row, settings: Settings) -> MeOut:
    rows = db.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == user.id)
        .order_by(Organization.name, Organization.id)
    ).all()
    return MeOut(
        user=UserOut(
            id=user.id, email=user.email, name=user.name, verified_at=user.verified_at, created_at=user.created_at,
            has_password=user.password_hash is not None,
        ),
        organizations=[OrganizationOut(id=org.id, name=org.name, created_at=org.created_at, role=role) for org, role in rows],
        csrf_token=signed_in_row.csrf_token,
        session_expires_at=idle_deadline(signed_in_row, settings),
    )


def _sign_in(db: Session, user: User, request: Request, response: Response, settings: Settings) -> MeOut:
    row, token = start_session(db, user, settings)
    db.commit()
    set_session_cookies(response, request, settings, row, token)
    return me_out(db, user, row, settings)


def _user_from_link(db: Session, payload: dict) -> User:
    user = db.get(User, str(payload.get("u", "")))
    if user is None or payload.get("n") != user.link_nonce:
        raise _used_link()
    return user


def _send_verification(request: Request, user: User) -> None:
    if not _limits(request).mail.address_may_receive("verify", user.email):
        return
    mail = _mail(request)
    link = mail.link(LinkPurpose.verify_email, {"u": user.id, "e": user.email, "n": user.link_nonce})
    mail.send(
        user.email,
        "Confirm your e-mail address for Feelback",
        f"Confirm your address to finish signing up for Feelback:\n\n{link}\n\n"
        f"The link works for {lifetime(LinkPurpose.verify_email)}. If you did not sign up, ignore this mail.",
    )


# --- sign up and verification -----------------------------------------------------------------


async def _answer_no_sooner_than(floor: float, work, *args) -> Accepted:
    """Run ``work`` in a worker thread and answer ``floor`` seconds after the start at the earliest,
    so the few milliseconds an address with an account costs more or less cannot be timed."""
    started = time.monotonic()
    answer = await run_in_threadpool(work, *args)
    await asyncio.sleep(max(0.0, floor - (time.monotonic() - started)))
    return answer


@router.post("/v1/auth/sign-up", status_code=status.HTTP_202_ACCEPTED)
async def sign_up(body: SignUp, request: Request, db: DbSession, settings: AppSettings) -> Accepted:
    """Create an account; the address must be confirmed (``POST /v1/auth/verify-email``) before signing in."""
    return await _answer_no_sooner_than(SIGN_UP_FLOOR_SECONDS, _sign_up, body, request, db, settings)


def _sign_up(body: SignUp, request: Request, db: Session, settings: Settings) -> Accepted:
    check_request_origin(request, settings)
    _limits(request).mail.client_may_ask(client_key(request))
    try:
        check_new_password(body.password)
    except ValueError as exc:
        raise invalid(f"password: {exc}") from None
    existing = find_user(db, body.email)
    if existing is None:
        try:
            user = create_user(db, body.email, body.password, body.name)
            db.commit()
        except IntegrityError:  # signed up twice at the same moment
            db.rollback()
        else:
            _send_verification(request, user)
    else:
        hash_password(body.password)  # the same work as a new account
        if _limits(request).mail.address_may_receive("exists", existing.email):
            _mail(request).send(
                existing.email,
                "Someone tried to sign up with your address",
                "Someone, perhaps you, tried to sign up for Feelback with this address, which already has an account.\n"
                "Sign in, or if you forgot your password, reset it from the sign-in page. If it was not you, ignore this mail.",
            )
    return Accepted(message=CHECK_INBOX.format(email=body.email))


@router.post("/v1/auth/verify-email")
def verify_email(body: TokenBody, request: Request, response: Response, db: DbSession, settings: AppSettings) -> MeOut:
    """Confirm the address with the token of the mailed link; signs in."""
    payload = _load_link(request, LinkPurpose.verify_email, body.token)
    user = _user_from_link(db, payload)
    if payload.get("e") != user.email:
        raise _used_link()
    user.verified_at = user.verified_at or utcnow()
    rotate_link_nonce(user)
    return _sign_in(db, user, request, response, settings)


# --- sign in and out --------------------------------------------------------------------------


def _count_failure(db: Session, email: str, policy: lockout.LockoutPolicy) -> None:
    for _ in range(2):  # two processes may count an address's first failure at once
        try:
            lockout.record_failure(db, email, policy)
            db.commit()
            return
        except IntegrityError:
            db.rollback()


def _check_password(db: Session, email: str, password: str) -> User | None:
    user = find_user(db, email)
    ok, new_hash = verify_password(password, user.password_hash if user else None)
    if not ok:
        return None
    if new_hash:
        user.password_hash = new_hash
        db.commit()
    return user


@router.post("/v1/auth/sign-in")
async def sign_in(body: SignIn, request: Request, response: Response, db: DbSession, settings: AppSettings) -> MeOut:
    """Sign in with password; sets the session cookies. Repeated failures are slowed, then refused (429)."""
    check_request_origin(request, settings)
    limits, client = _limits(request), client_key(request)
    wait = max(
        limits.sign_in_by_email.refused_for(body.email),
        limits.sign_in_by_client.refused_for(client),
        await run_in_threadpool(lockout.locked_for, db, body.email),
    )
    if wait > 0:
        raise too_many(wait, "too many failed sign-ins; try again later or sign in with a mailed link")
    delay = max(limits.sign_in_by_email.delay(body.email), limits.sign_in_by_client.delay(client))
    if delay:
        await asyncio.sleep(delay)
    user = await run_in_threadpool(_check_password, db, body.email, body.password)
    if user is None:
        limits.sign_in_by_email.failed(body.email)
        limits.sign_in_by_client.failed(client)
        await run_in_threadpool(_count_failure, db, body.email, limits.lockout)
        raise ApiError(401, "sign_in_failed", "the e-mail address or the password is wrong")
    limits.sign_in_by_email.succeeded(body.email)
    await run_in_threadpool(lockout.clear, db, body.email)
    if user.verified_at is None:
        _send_verification(request, user)
        raise ApiError(403, "email_not_verified", f"confirm {user.email} first: a mail with a link was sent to it")
    return await run_in_threadpool(_sign_in, db, user, request, response, settings)


def _mail_link_if_account(request: Request, db: Session, settings: Settings, email: str, purpose: LinkPurpose, subject: str, text: str) -> Accepted:
    """Mail ``text`` (with ``{link}`` and ``{lifetime}`` filled in) if ``email`` has an account; the
    answer is the same either way, and the mail leaves after it."""
    check_request_origin(request, settings)
    _limits(request).mail.client_may_ask(client_key(request))
    user = find_user(db, email)
    if user is not None and user.id != OPERATOR_USER_ID and _limits(request).mail.address_may_receive(purpose.value, user.email):
        mail = _mail(request)
        link = mail.link(purpose, {"u": user.id, "n": user.link_nonce})
        mail.send(user.email, subject, text.format(link=link, lifetime=lifetime(purpose)))
    return Accepted(message=CHECK_INBOX.format(email=email))


@router.post("/v1/auth/magic-link", status_code=status.HTTP_202_ACCEPTED)
async def request_magic_link(body: EmailRequest, request: Request, db: DbSession, settings: AppSettings) -> Accepted:
    """Mail a one-time sign-in link (valid 15 minutes) if the address has an account."""
    return await _answer_no_sooner_than(
        LINK_REQUEST_FLOOR_SECONDS, _mail_link_if_account,
        request, db, settings, body.email, LinkPurpose.magic_sign_in, "Your Feelback sign-in link",
        "Sign in to Feelback with this link:\n\n{link}\n\nIt works once, for {lifetime}. If you did not ask for it, ignore this mail.",
    )


def _claim_mailbox(user: User) -> None:
    """The link proved the mailbox: the address is confirmed; a password set before that, by whoever
    signed up with this address, is dropped unless the address was already confirmed."""
    if user.verified_at is None:
        user.verified_at = utcnow()
        user.password_hash = None
    rotate_link_nonce(user)


@router.post("/v1/auth/magic-link/sign-in")
def magic_link_sign_in(body: TokenBody, request: Request, response: Response, db: DbSession, settings: AppSettings) -> MeOut:
    payload = _load_link(request, LinkPurpose.magic_sign_in, body.token)
    user = _user_from_link(db, payload)
    _claim_mailbox(user)
    return _sign_in(db, user, request, response, settings)


def _signed_out(request: Request, settings: Settings) -> Response:
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookies(response, request, settings)
    return response


@router.post("/v1/auth/sign-out", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(signed_in: CurrentUser, request: Request, db: DbSession, settings: AppSettings) -> Response:
    revoke_session(db, signed_in.token)
    db.commit()
    return _signed_out(request, settings)


@router.post("/v1/auth/sign-out-everywhere", status_code=status.HTTP_204_NO_CONTENT)
def sign_out_everywhere(signed_in: CurrentUser, request: Request, db: DbSession, settings: AppSettings) -> Response:
    revoke_user_sessions(db, signed_in.user.id)
    db.commit()
    return _signed_out(request, settings)


# --- password reset ---------------------------------------------------------------------------


@router.post("/v1/auth/password-reset", status_code=status.HTTP_202_ACCEPTED)
async def request_password_reset(body: EmailRequest, request: Request, db: DbSession, settings: AppSettings) -> Accepted:
    """Mail a one-time link (valid 1 hour) to choose a new password, if the address has an account."""
    return await _answer_no_sooner_than(
        LINK_REQUEST_FLOOR_SECONDS, _mail_link_if_account,
        request, db, settings, body.email, LinkPurpose.reset_password, "Choose a new Feelback password",
        "Choose a new password for your Feelback account:\n\n{link}\n\nThe link works once, for {lifetime}. "
        "If you did not ask for it, ignore this mail: your password stays as it is.",
    )


@router.post("/v1/auth/password-reset/confirm")
def confirm_password_reset(
    body: PasswordResetConfirm, request: Request, response: Response, db: DbSession, settings: AppSettings
) -> MeOut:
    """Set the new password; every other session ends; signs in."""
    payload = _load_link(request, LinkPurpose.reset_password, body.token)
    try:
        check_new_password(body.password)
    except ValueError as exc:
        raise invalid(f"password: {exc}") from None
    user = _user_from_link(db, payload)
    _claim_mailbox(user)
    set_password(user, body.password)
    revoke_user_sessions(db, user.id)
    return _sign_in(db, user, request, response, settings)


# --- me ---------------------------------------------------------------------------------------


@router.get("/v1/me")
def get_me(signed_in: CurrentUser, db: DbSession, settings: AppSettings) -> MeOut:
    """The signed-in person, their organizations with their role, and the CSRF token for writes."""
    return me_out(db, signed_in.user, signed_in.session, settings)


@router.patch("/v1/me")
def update_me(body: ProfileUpdate, signed_in: CurrentUser, db: DbSession, settings: AppSettings) -> MeOut:
    signed_in.user.name = body.name.strip()
    db.commit()
    return me_out(db, signed_in.user, signed_in.session, settings)


def _confirm_password(user: User, password: str | None) -> None:
    if user.password_hash is None:
        return
    if password is None or not verify_password(password, user.password_hash)[0]:
        raise ApiError(403, "wrong_password", "the current password is wrong")


@router.put("/v1/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(body: PasswordChange, signed_in: CurrentUser, db: DbSession) -> Response:
    """Change the password; every other session of the account ends."""
    _confirm_password(signed_in.user, body.current_password)
    try:
        set_password(signed_in.user, body.new_password)
    except ValueError as exc:
        raise invalid(f"new_password: {exc}") from None
    revoke_user_sessions(db, signed_in.user.id, keep=signed_in.session.id_hash)
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/v1/me/email", status_code=status.HTTP_202_ACCEPTED)
def request_email_change(body: EmailChange, request: Request, signed_in: CurrentUser, db: DbSession) -> Accepted:
    """Mail a confirmation link to the new address; the address changes when it is followed."""
    user = signed_in.user
    _confirm_password(user, body.password)
    if body.new_email != user.email and find_user(db, body.new_email) is None:
        if _limits(request).mail.address_may_receive("change", body.new_email):
            mail = _mail(request)
            link = mail.link(LinkPurpose.change_email, {"u": user.id, "e": body.new_email, "n": user.link_nonce})
            mail.send(
                body.new_email,
                "Confirm your new Feelback address",
                f"Confirm that your Feelback account should use this address from now on:\n\n{link}\n\n"
                f"The link works for {lifetime(LinkPurpose.change_email)}. If you did not ask for it, ignore this mail.",
            )
    return Accepted(message=CHECK_INBOX.format(email=body.new_email))


@router.post("/v1/auth/email-change/confirm")
def confirm_email_change(body: TokenBody, request: Request, db: DbSession) -> Accepted:
    payload = _load_link(request, LinkPurpose.change_email, body.token)
    user = _user_from_link(db, payload)
    new_email, old_email = str(payload.get("e", "")), user.email
    if find_user(db, new_email) is not None:
        raise conflict(f"{new_email} has had an account of its own since the link was sent")
    user.email = new_email
    user.verified_at = utcnow()
    rotate_link_nonce(user)
    db.commit()
    _mail(request).send(
        old_email,
        "Your Feelback address was changed",
        f"Your Feelback account now uses {new_email} instead of this address. If you did not do this, write to your Feelback operator.",
    )
    return Accepted(message=f"your account now uses {new_email}")


@router.delete("/v1/me", status_code=status.HTTP_204_NO_CONTENT)
def delete_me(
    request: Request, signed_in: CurrentUser, db: DbSession, settings: AppSettings, body: AccountDelete | None = None
) -> Response:
    """Delete the account. Organizations where it is the only member go with it (and their projects);
    where it is the only owner beside other members, another owner must be named first (409)."""
    user = signed_in.user
    _confirm_password(user, body.password if body else None)
    sole: list[Organization] = []
    alone: list[Organization] = []
    for membership in list(user.memberships):
        org_id = membership.organization_id
        members = db.scalar(select(func.count()).where(Membership.organization_id == org_id)) or 0
        owners = db.scalar(select(func.count()).where(Membership.organization_id == org_id, Membership.role == Role.owner)) or 0
        if members == 1:
            alone.append(membership.organization)
        elif membership.role is Role.owner and owners == 1:
            sole.append(membership.organization)
    if sole:
        names = ", ".join(repr(org.name) for org in sole)
        raise conflict(f"you are the only owner of {names}; make another member owner (or delete the organization) first")
    for organization in alone:
        db.delete(organization)
    db.delete(user)
    db.commit()
    return _signed_out(request, settings)

