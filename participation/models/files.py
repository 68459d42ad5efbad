"""Files kept in the database (proposal attachments), so that every host and every backup has them."""
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
    in chunks (participation/storage.py).
    """

    __tablename__ = "stored_files"
    __table_args__ = table_args(sa.CheckConstraint("size >= 0", name="size_non_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(sa.String(100))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<StoredFile {self.id} {self.content_type} {self.size} B>"
