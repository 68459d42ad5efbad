"""Proposal attachments: PDF, JPEG or PNG up to 5 MB, checked by content, stored in the database."""
from __future__ import annotations

import re
from pathlib import Path

from participation import storage

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


def safe_name(filename: str | None, extension: str) -> str:
    """A display name for downloads: the original stem, tamed, with the true extension."""
    stem = Path(filename or "").stem
    stem = re.sub(r"[^\w\- ]+", "", stem, flags=re.UNICODE).strip()[:80] or "lampiran"
    return stem + extension


def removed() -> dict:
    """The proposal columns that drop its attachment; the file row is deleted with the save."""
    return {"attachment_file": None, "attachment_name": None, "attachment_type": None, "attachment_size": None}


def store(file_storage) -> dict:
    """Check an upload; returns the proposal columns to set, its file saved with the proposal's transaction."""
    data = file_storage.stream.read(MAX_BYTES + 1)
    if not data:
        raise AttachmentError("empty")
    if len(data) > MAX_BYTES:
        raise AttachmentError("too_large")
    kind = sniff(data[:16])
    if kind is None:
        raise AttachmentError("wrong_type")
    mime, extension = kind
    return {"attachment_file": storage.new_file(data, mime),
            "attachment_name": safe_name(file_storage.filename, extension),
            "attachment_type": mime, "attachment_size": len(data)}
