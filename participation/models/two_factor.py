"""Staff two-factor authentication: each staff account's TOTP secret and its recovery codes."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from participation.extensions import db
from participation.models.base import table_args, utcnow


class StaffTotp(db.Model):
    """The TOTP secret of one staff account (encrypted with a key derived from SECRET_KEY).

    Written only when the enrollment is confirmed (a code from the secret typed back; until
    then the secret waits, encrypted, in the browser's session). `last_step` is the newest
    30-second time step accepted, so that a code is never accepted twice (a step at or before it
    is refused).
    """

    __tablename__ = "staff_totp"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(db.Model):
    """One single-use recovery code, kept only as a salted SHA-256 digest."""

    __tablename__ = "recovery_codes"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    salt: Mapped[str] = mapped_column(sa.String(32))
    digest: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
