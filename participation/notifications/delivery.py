"""The worker's half of the outbox: send the due email messages, exactly once each.

A worker claims a small batch of due rows in one short transaction (PostgreSQL: FOR UPDATE SKIP
LOCKED, so workers on several hosts take different rows; SQLite: BEGIN IMMEDIATE serialises the
claim) and marks them `sending` under a lease before any SMTP call. It then sends them one by
one, committing each outcome at once: `sent`, or back to `pending` for a retry after 1 min, 5 min,
30 min, 2 h, 6 h and 24 h, then `failed` with the reason. A worker stops using its batch well
before the lease runs out, so no other worker can take a row it is still sending.

What a worker killed outright (SIGKILL, a power cut) leaves: rows still `sending` whose lease
then lapses and which the next worker takes again. Only the one message whose SMTP exchange was
under way can then arrive twice (the server accepted it, the worker died before recording that);
every message has a stable Message-ID, so a receiving system can tell the copy. Stopped with
SIGTERM or Ctrl+C, a worker hands back what it had not sent yet at once.

Without MAIL_SERVER each message is written as an .eml file under instance/mail/ instead, named
by the message's id, so a retry overwrites rather than duplicates it.
"""
from __future__ import annotations

import logging
import os
import smtplib
import socket
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import flask_mail
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import and_, or_, select, update

from participation.extensions import db
from participation.models import (
    Notification,
    NotificationChannel,
    NotificationState,
    utcnow,
)
from participation.notifications.kinds_scheduled import DIGEST
from participation.notifications.render import base_url, recipient_locale, render

log = logging.getLogger(__name__)

# After the n-th failed attempt the next one waits RETRY_DELAYS[n - 1]; after the last, failed.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                timedelta(hours=6), timedelta(hours=24))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
ERROR_LENGTH = 200


def worker_name() -> str:
    """This worker, as rows name their claimer: host, process and a random part."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Batch:
    """The rows one claim took, and until when they are this worker's."""

    ids: list[int]
    lease_until: datetime


def _lease() -> timedelta:
    return current_app.config["NOTIFICATION_LEASE"]


def _due(now: datetime):
    waiting = and_(Notification.state == NotificationState.PENDING, Notification.next_attempt_at <= now)
    abandoned = and_(Notification.state == NotificationState.SENDING, Notification.lease_until < now)
    return and_(Notification.channel == NotificationChannel.EMAIL, or_(waiting, abandoned))


def claim(worker: str, size: int | None = None) -> Batch:
    """Take up to `size` due email rows under a lease (committed); oldest due first, then by id.

    A row whose worker died while sending it MAX_ATTEMPTS times is given up instead of taken.
    """
    size = size or current_app.config["NOTIFICATION_BATCH"]
    now = utcnow()
    statement = (select(Notification).where(_due(now))
                 .order_by(Notification.next_attempt_at, Notification.id).limit(size))
    if db.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    lease_until = now + _lease()
    ids = []
    for row in db.session.scalars(statement):
        if row.state is NotificationState.SENDING and row.attempts >= MAX_ATTEMPTS:
            _give_up(row, "gave up: the worker stopped while sending it", now)
            continue
        row.state, row.lease_until, row.claimed_by = NotificationState.SENDING, lease_until, worker
        row.attempts += 1
        ids.append(row.id)
    db.session.commit()
    return Batch(ids, lease_until)


def _give_up(row: Notification, reason: str, now: datetime) -> None:
    row.state, row.last_error = NotificationState.FAILED, reason[:ERROR_LENGTH]
    row.lease_until = row.next_attempt_at = None
    log.warning("notification %s (%s) failed: %s", row.id, row.kind, reason)


def _failed_attempt(row: Notification, reason: str, *, permanent: bool = False) -> None:
    """Schedule the next attempt after the backoff, or fail the row once the attempts are spent."""
    now = utcnow()
    if permanent or row.attempts >= MAX_ATTEMPTS:
        _give_up(row, reason, now)
        return
    row.state, row.last_error, row.lease_until = NotificationState.PENDING, reason[:ERROR_LENGTH], None
    row.next_attempt_at = now + RETRY_DELAYS[row.attempts - 1]
    log.info("notification %s (%s) attempt %d failed, next at %s: %s", row.id, row.kind, row.attempts,
             row.next_attempt_at, reason)


def release(ids: list[int], worker: str) -> None:
    """Hand rows this worker claimed but did not send back to the queue, due at once."""
    db.session.rollback()
    if ids:
        db.session.execute(update(Notification)
                           .where(Notification.id.in_(ids), Notification.state == NotificationState.SENDING,
                                  Notification.claimed_by == worker)
                           .values(state=NotificationState.PENDING, lease_until=None, claimed_by=None,
                                   attempts=Notification.attempts - 1))
    db.session.commit()


def _reason(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = ", ".join(f"{code} {message.decode(errors='replace')}"
                          for code, message in error.recipients.values())
        return f"SMTP recipient refused: {codes}"
    if isinstance(error, smtplib.SMTPResponseException):
        message = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) \
            else str(error.smtp_error)
        return f"SMTP {error.smtp_code}: {message}"
    return f"{type(error).__name__}: {error}"


def _permanent(error: BaseException) -> bool:
    """A refusal that no retry will change (a 5xx answer to this message, e.g. an unknown address)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500 \
        and not isinstance(error, smtplib.SMTPServerDisconnected)


# ---------------------------------------------------------------------------------------------
# Composing and transports


def _mail_host() -> str:
    """The domain of the site, for Message-IDs and the fallback sender."""
    host = urlsplit(base_url()).hostname or "localhost"
    return host if "." in host and not host.replace(".", "").isdigit() else "localhost"


def sender():
    """MAIL_DEFAULT_SENDER, or a no-reply address of the site (development: nothing leaves)."""
    return current_app.config.get("MAIL_DEFAULT_SENDER") or ("Musrenbang Tematik", f"noreply@{_mail_host()}")


def compose(row: Notification) -> flask_mail.Message:
    """The email of a row, in its recipient's language; the Message-ID is the row's own."""
    user = row.user
    with force_locale(recipient_locale(user)):
        rendered = render(row)
    # RFC 3834: an automatic message; out-of-office replies are not wanted.
    headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
    if row.kind == DIGEST:  # RFC 2369 and RFC 8058: one-click unsubscribe from the digest
        from participation.notifications.preferences import unsubscribe_url

        headers["List-Unsubscribe"] = f"<{unsubscribe_url(user)}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = flask_mail.Message(
        subject=rendered.subject, recipients=[(" ".join(user.name.split()), user.email)],
        body=rendered.text, html=rendered.html, sender=sender(), extra_headers=headers)
    message.msgId = f"<notification-{row.id}@{_mail_host()}>"
    message.date = time.time()
    return message


class _SmtpConnection(flask_mail.Connection):
    """Flask-Mail's connection with a timeout: a server that stops answering fails the attempt."""

    def configure_host(self):
        state, timeout = self.mail, current_app.config["MAIL_TIMEOUT"]
        smtp_class = smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP
        host = smtp_class(state.server, state.port, timeout=timeout)
        host.set_debuglevel(int(state.debug))
        if state.use_tls:
            host.starttls()
        if state.username and state.password:
            host.login(state.username, state.password)
        return host


def mail_folder() -> Path:
    return Path(current_app.instance_path) / "mail"


def eml_name(row: Notification) -> str:
    """The file a row's message is written to without MAIL_SERVER: one per row, whatever the retries."""
    return f"{row.created_at:%Y%m%d-%H%M%S}-{row.id:06d}-{row.kind}.eml"


def _write_eml(message: flask_mail.Message, name: str) -> None:
    folder = mail_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(message.as_bytes())
    os.replace(temporary, path)  # whole or not at all; a retry replaces it


@contextmanager
def transport():
    """`send(message, eml_name)` for one batch: over one SMTP connection, or into instance/mail/."""
    if not current_app.config.get("MAIL_SERVER"):
        yield _write_eml
        return
    with _SmtpConnection(current_app.extensions["mail"]) as connection:
        yield lambda message, name: connection.send(message)


# ---------------------------------------------------------------------------------------------
# The loop


def deliver(batch: Batch, worker: str) -> int:
    """Send a claimed batch, committing each outcome; how many were sent."""
    remaining = list(batch.ids)
    # Stop taking rows from the batch while there is still time to finish the current one.
    margin = min(timedelta(seconds=2 * current_app.config["MAIL_TIMEOUT"]), _lease() / 2)
    deadline = batch.lease_until - margin
    sent = 0
    try:
        with transport() as send:
            while remaining and utcnow() < deadline:
                row = db.session.get(Notification, remaining[0], populate_existing=True)
                if row is None or row.state is not NotificationState.SENDING or row.claimed_by != worker:
                    remaining.pop(0)
                    continue
                if not row.user.active:
                    _give_up(row, "the account is deactivated", utcnow())
                    db.session.commit()
                    remaining.pop(0)
                    continue
                try:
                    message = compose(row)
                except Exception:  # a broken template or payload: no retry will mend it
                    log.exception("notification %s (%s) could not be rendered", row.id, row.kind)
                    db.session.rollback()
                    row = db.session.get(Notification, remaining[0], populate_existing=True)
                    _give_up(row, "the message could not be rendered", utcnow())
                    db.session.commit()
                    remaining.pop(0)
                    continue
                name = eml_name(row)
                # End the read before talking to the server: on SQLite it holds the write lock.
                db.session.rollback()
                try:
                    send(message, name)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError,
                        smtplib.SMTPSenderRefused) as error:  # this message refused; the connection lives
                    row = db.session.get(Notification, remaining[0])
                    _failed_attempt(row, _reason(error), permanent=_permanent(error))
                    db.session.commit()
                    remaining.pop(0)
                    continue
                row = db.session.get(Notification, remaining[0])
                row.state, row.sent_at = NotificationState.SENT, utcnow()
                row.lease_until = row.next_attempt_at = None
                row.last_error = None
                db.session.commit()
                remaining.pop(0)
                sent += 1
    except (OSError, smtplib.SMTPException) as error:
        # The server could not be reached or the connection broke: what is left waits its turn.
        db.session.rollback()
        reason = _reason(error)
        for row_id in remaining:
            row = db.session.get(Notification, row_id, populate_existing=True)
            if row is not None and row.state is NotificationState.SENDING and row.claimed_by == worker:
                _failed_attempt(row, reason)
        db.session.commit()
        return sent
    except BaseException:  # stopped (SIGTERM, Ctrl+C) or a bug: hand back what was not sent
        release(remaining, worker)
        raise
    release(remaining, worker)  # the lease is nearly spent: another look takes them
    return sent


def send_due(worker: str | None = None) -> int:
    """Send the due email messages in batches until none is due; how many were sent."""
    worker = worker or worker_name()
    sent = 0
    while True:
        batch = claim(worker)
        if not batch.ids:
            return sent
        sent += deliver(batch, worker)
        db.session.remove()
