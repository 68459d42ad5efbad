"""Records kept for security controls that must work across workers."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from participation.extensions import db
from participation.models.base import table_args, utcnow


class RateLimitHit(db.Model):
    """One counted event of an abuse limit (a failed password check, a registration, ...).

    Counted per (scope, key) in a sliding window by participation.limits; `ip` is where it came
    from. Keys are email addresses, IP addresses, networks or digests, never free text.
    """

    __tablename__ = "rate_limit_hits"
    # AUTOINCREMENT here too: a sign-in deletes its own reservations by id after a commit and the
    # slow password hash, so those ids must not meanwhile have passed to another key's hits.
    __table_args__ = table_args(
        sa.Index("ix_rate_limit_hits_scope_key_created_at", "scope", "key", "created_at"),
        sa.Index("ix_rate_limit_hits_scope_created_at", "scope", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(32))
    key: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
