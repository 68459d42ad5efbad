"""A follow-up update's photo: JPEG or PNG up to 5 MB, checked by content, stored like attachments."""
from __future__ import annotations

from flask_babel import gettext as _

from participation import storage
from participation.proposals.attachments import MAX_BYTES, safe_name, sniff

IMAGE_TYPES = ("image/jpeg", "image/png")


def photo_problem(code: str) -> str:
    """The message for a refused photo (`empty`, `too_large` or `wrong_type`)."""
    return {"empty": _("The photo is empty."),
            "too_large": _("The photo may be at most 5 MB."),
            "wrong_type": _("The photo must be a JPEG or PNG image.")}[code]


def read_photo(file_storage) -> dict | None:
    """The update's photo columns for an upload (None when no file was chosen).

    Raises ValueError with the user's message when the file is refused.
    """
    if file_storage is None or not getattr(file_storage, "filename", None):
        return None
    data = file_storage.stream.read(MAX_BYTES + 1)
    if not data:
        raise ValueError(photo_problem("empty"))
    if len(data) > MAX_BYTES:
        raise ValueError(photo_problem("too_large"))
    kind = sniff(data[:16])
    if kind is None or kind[0] not in IMAGE_TYPES:
        raise ValueError(photo_problem("wrong_type"))
    mime, extension = kind
    return {"photo_file": storage.new_file(data, mime), "photo_name": safe_name(file_storage.filename, extension),
            "photo_type": mime, "photo_size": len(data)}
