"""A real SMTP server in-process (aiosmtpd) that collects what arrives, and the app pointed at it."""
from __future__ import annotations

import asyncio
import re
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What the SMTP server received; `messages` parses it with the email package. `hold_at` keeps
    the n-th message's DATA waiting for its answer until `release` is set."""

    def __init__(self):
        self.raw: list[bytes] = []
        self.recipients: list[list[str]] = []
        self.lock = threading.Lock()
        self.hold_at: int | None = None  # the n-th message (1-based) is held before its answer
        self.holding = threading.Event()  # set while that message waits
        self.release = threading.Event()
        self.refuse: set[str] = set()  # addresses answered 550 at RCPT TO

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.raw.append(envelope.original_content or envelope.content)
            self.recipients.append(list(envelope.rcpt_tos))
            number = len(self.raw)
        if number == self.hold_at:
            self.holding.set()
            while not self.release.is_set():  # the sender gets no answer meanwhile
                await asyncio.sleep(0.02)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            raw = list(self.raw)
        return [message_from_bytes(data, policy=policy.default) for data in raw]

    def ids(self) -> list[str]:
        """The Message-ID of each message that arrived (read from the headers, without parsing the rest)."""
        with self.lock:
            raw = list(self.raw)
        return [MESSAGE_ID.search(data).group(1).decode() for data in raw]


MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>]+>)", re.MULTILINE | re.IGNORECASE)


class SmtpServer:
    """aiosmtpd's Controller on a fixed free port: started, stopped and started again at will."""

    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server():
    """A running SMTP server on a free port; `.inbox` holds what arrived."""
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.inbox.release.set()
    server.stop()


@pytest.fixture
def app_config(app_config, smtp_server):
    """The app sends through the test SMTP server (MAIL_SERVER set)."""
    return {**app_config, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port, "MAIL_TIMEOUT": 5,
            "MAIL_DEFAULT_SENDER": ("Musrenbang Kota Uji", "noreply@musrenbang.test"),
            "PUBLIC_BASE_URL": "https://musrenbang.test"}


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML alternatives of a message, decoded."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html
