"""Proposal attachments: PDF, JPEG or PNG up to 5 MB, checked by content, stored outside static/."""
from __future__ import annotations

import re
import secrets
from pathlib import Path

from flask import current_app

MAX_BYTES = 5 * 1024 * 1024
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)


class AttachmentError(Exception):
    """The file was refused; `code` is `too_large`, `wrong_type` or `empty`."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def sniff(head: bytes) -> tuple[str, str] | None:
    """(MIME type, extension) from the file's first bytes, or None when not allowed."""
    for magic, mime, extension in SIGNATURES:
        if head.startswith(magic):
            return mime, extension
    return None


def upload_dir() -> Path:
    """Where attachments live: under instance/, never under static/."""
    path = Path(current_app.instance_path) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def safe_name(filename: str | None, extension: str) -> str:
    """A display name for downloads: the original stem, tamed, with the true extension."""
    stem = Path(filename or "").stem
    stem = re.sub(r"[^\w\- ]+", "", stem, flags=re.UNICODE).strip()[:80] or "lampiran"
    return stem + extension


def store(file_storage) -> dict:
    """Check and save an uploaded file under a generated name; returns the columns to set."""
    data = file_storage.stream.read(MAX_BYTES + 1)
    if not data:
        raise AttachmentError("empty")
    if len(data) > MAX_BYTES:
        raise AttachmentError("too_large")
    kind = sniff(data[:16])
    if kind is None:
        raise AttachmentError("wrong_type")
    mime, extension = kind
    key = secrets.token_hex(16)
    (upload_dir() / key).write_bytes(data)
    return {"attachment_key": key, "attachment_name": safe_name(file_storage.filename, extension),
            "attachment_type": mime, "attachment_size": len(data)}


def path_for(key: str) -> Path:
    """The stored file for `key` (keys are generated hex, never user input)."""
    if not re.fullmatch(r"[0-9a-f]{32}", key or ""):
        raise FileNotFoundError(key)
    return upload_dir() / key


def discard(key: str | None) -> None:
    """Remove a stored file, e.g. after it was replaced or its transaction failed."""
    if key:
        try:
            path_for(key).unlink(missing_ok=True)
        except FileNotFoundError:
            pass
