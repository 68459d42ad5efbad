"""Stored files (proposal attachments): in the database or an object store, so every host and backup has them."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from participation.extensions import db
from participation.models.base import table_args, utcnow


class StoredFile(db.Model):
    """One stored file's bytes with their digest, size and type; written in its owner's transaction.

    A row is never changed: replacing a file adds a new row and deletes the old one. The bytes are
    deferred, so loading the row (to link or delete it) does not read them; downloads stream them
    in chunks (participation/storage.py). With STORAGE_URL set the bytes live in the object store
    under `object_key` and `data` is empty; the metadata stays here either way.
    """

    __tablename__ = "stored_files"
    __table_args__ = table_args(sa.CheckConstraint("size >= 0", name="size_non_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(sa.String(100))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    # Where the bytes live in the configured object store (participation/object_store.py); None
    # when they are in `data`. Unique: every stored object belongs to exactly one row.
    object_key: Mapped[str | None] = mapped_column(sa.String(255), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        where = f" at {self.object_key}" if self.object_key else ""
        return f"<StoredFile {self.id} {self.content_type} {self.size} B{where}>"
