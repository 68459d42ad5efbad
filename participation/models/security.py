"""Records kept for security controls that must work across workers."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from participation.extensions import db
from participation.models.base import table_args, utcnow


class LoginFailure(db.Model):
    """One failed password check, counted per account in a sliding window."""

    __tablename__ = "login_failures"
    # AUTOINCREMENT here too: a sign-in deletes its own reservation by id after a commit and the
    # slow password hash, so that id must not meanwhile have passed to another account's failure.
    __table_args__ = table_args(sa.Index("ix_login_failures_account_key_created_at", "account_key", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    account_key: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
