"""The mails of the account flows, and the signed links in them.

Links point at the panel (``<FEELBACK_PUBLIC_URL>/app/<page>?token=...``); the panel page posts the
token to the matching API route (see ``ingest_api/auth/README.md``), so a mail scanner that follows
links uses nothing up. Mails leave through ``feelback.mail.BackgroundMailer``: answers never wait.

Contract: ``AccountMail(settings)`` with ``signer`` (a ``LinkSigner``), ``link(purpose, payload)``,
``load(purpose, token)`` (checks the purpose's lifetime, ``LINK_TTL``) and ``send(recipient, subject, text)``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from feelback.control_plane.links import LinkPurpose, LinkSigner, auth_secret
from feelback.mail import BackgroundMailer, plain_message
from feelback.settings import Settings

LINK_PAGES = {
    LinkPurpose.verify_email: "verify-email",
    LinkPurpose.magic_sign_in: "sign-in/link",
    LinkPurpose.reset_password: "reset-password",
    LinkPurpose.change_email: "confirm-email",
    LinkPurpose.invitation: "invitations/accept",
}
LINK_TTL = {
    LinkPurpose.verify_email: dt.timedelta(days=2),
    LinkPurpose.magic_sign_in: dt.timedelta(minutes=15),
    LinkPurpose.reset_password: dt.timedelta(hours=1),
    LinkPurpose.change_email: dt.timedelta(days=1),
    LinkPurpose.invitation: dt.timedelta(days=7),
}


def lifetime(purpose: LinkPurpose) -> str:
    seconds = int(LINK_TTL[purpose].total_seconds())
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days > 1 else ''}"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours > 1 else ''}"
    return f"{seconds // 60} minutes"


class AccountMail:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.signer = LinkSigner(auth_secret(settings))
        self.mailer = BackgroundMailer(settings.outbox_url)

    def link(self, purpose: LinkPurpose, payload: dict[str, Any]) -> str:
        token = self.signer.sign(purpose, payload)
        return f"{self.settings.api_base_url}/app/{LINK_PAGES[purpose]}?token={token}"

    def load(self, purpose: LinkPurpose, token: str) -> dict[str, Any]:
        return self.signer.load(purpose, token, max_age=int(LINK_TTL[purpose].total_seconds()))

    def send(self, recipient: str, subject: str, text: str) -> None:
        body = f"{text.strip()}\n\n-- \nFeelback\n"
        self.mailer.submit(plain_message(self.settings.mail_from, recipient, subject, body), recipient)
