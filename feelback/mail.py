"""Mail delivery to ``FEELBACK_SMTP_URL``: an SMTP relay (``smtp://``, ``smtps://``) or an outbox folder (``file://``).

``open_mailer(url)`` gives a ``Mailer`` whose ``send(message, recipient)`` delivers one message to one
recipient or raises ``DeliveryError`` telling whether trying again later could help (SMTP 4xx and lost
connections) or not (5xx). ``smtp://`` upgrades with STARTTLS when the relay offers it.
Used by the recap pipelines and by the API's account mails, which go through ``BackgroundMailer``
(``submit(message, recipient)`` returns at once; a daemon thread delivers in order, so no answer waits
for, or reveals by its timing, a delivery). ``plain_message(sender, recipient, subject, text)`` builds one.
"""

from __future__ import annotations

import os
import queue
import re
import smtplib
import ssl
import threading
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Iterator, Protocol
from urllib.parse import unquote, urlsplit

import structlog

from feelback.domain import one_line

log = structlog.get_logger(__name__)

SMTP_TIMEOUT_SECONDS = 30


class DeliveryError(Exception):
    def __init__(self, recipient: str, reason: str, permanent: bool):
        super().__init__(f"{recipient}: {reason}")
        self.recipient = recipient
        self.reason = reason
        self.permanent = permanent


class Mailer(Protocol):
    def send(self, message: EmailMessage, recipient: str) -> None: ...


class OutboxMailer:
    """Writes each message as ``<folder>/<message-id>.eml``; a second write of the same message replaces it."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage, recipient: str) -> None:
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", message["Message-ID"].strip("<>")) + ".eml"
        target = self.folder / name
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(bytes(message))
        os.replace(temporary, target)


class SmtpMailer:
    """One SMTP connection, reopened after it breaks; each recipient gets its own envelope."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.secure = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.secure else 25)
        self.user = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.secure:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
        if self.user:
            smtp.login(self.user, self.password)
        return smtp

    def send(self, message: EmailMessage, recipient: str) -> None:
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(message, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(recipient, (550, b"refused"))
            self._reset()
            raise DeliveryError(recipient, f"{code} {_text(text)}", permanent=500 <= code < 600) from None
        except smtplib.SMTPResponseException as exc:
            self._reset()
            raise DeliveryError(recipient, f"{exc.smtp_code} {_text(exc.smtp_error)}", permanent=500 <= exc.smtp_code < 600) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryError(recipient, f"{type(exc).__name__}: {exc}", permanent=False) from None

    def _reset(self) -> None:
        """Clear the refused envelope so the connection serves the next recipient."""
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


@contextmanager
def open_mailer(url: str) -> Iterator[Mailer]:
    parts = urlsplit(url)
    if parts.scheme == "file":
        yield OutboxMailer(Path(unquote(parts.path)))
        return
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"FEELBACK_SMTP_URL scheme {parts.scheme!r} is not one of file, smtp, smtps")
    mailer = SmtpMailer(url)
    try:
        yield mailer
    finally:
        mailer.close()


def plain_message(sender: str, recipient: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = one_line(subject)  # names in it were stored before control characters were refused
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> ") or "feelback.localhost")
    message.set_content(text)
    return message


class BackgroundMailer:
    """Delivers submitted messages one by one from a daemon thread, started on first use."""

    def __init__(self, url: str):
        self.url = url
        self._queue: queue.Queue[tuple[EmailMessage, str]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, message: EmailMessage, recipient: str) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="feelback-mail", daemon=True)
                self._thread.start()
        self._queue.put((message, recipient))

    def wait(self) -> None:
        """Until every submitted message was handed to the relay (or failed); for tests and shutdown."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            message, recipient = self._queue.get()
            try:
                with open_mailer(self.url) as mailer:
                    mailer.send(message, recipient)
            except (DeliveryError, OSError, ValueError) as exc:
                # The address is personal data: log only its domain.
                reason = exc.reason if isinstance(exc, DeliveryError) else str(exc)
                log.warning("account mail not delivered", domain=recipient.rsplit("@", 1)[-1], reason=reason, subject=message["Subject"])
            finally:
                self._queue.task_done()
