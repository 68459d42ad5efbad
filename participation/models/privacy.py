"""Personal-data rights: erased accounts, and the worker's daily housekeeping runs."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from participation.extensions import db
from participation.models.base import table_args, utcnow


class AccountErasure(db.Model):
    """An account erased at its owner's request (UU 27/2022): when, and what was done, in counts.

    The erasure writes this row first and marks it completed last, in one transaction. While a
    row with no `completed_at` exists (only ever inside that transaction: it is committed
    completed), the database lets audit payloads and ranking-snapshot texts be rewritten; the
    append-only triggers (migration 0012) refuse that at any other time. `summary` holds counts
    and codes only, never the erased data.
    """

    __tablename__ = "account_erasures"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    summary: Mapped[dict | None] = mapped_column(sa.JSON)

    def __repr__(self) -> str:
        return f"<AccountErasure {self.id} u={self.user_id}>"


class HousekeepingRun(db.Model):
    """The last run of one periodic task of the worker (one row per task).

    A worker takes a run by moving `started_at` forward in one conditional UPDATE, so that of
    several workers on several hosts exactly one runs the task per period; a run that died is
    taken up again once its lease has passed.
    """

    __tablename__ = "housekeeping_runs"

    task: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    result: Mapped[dict | None] = mapped_column(sa.JSON)

    def __repr__(self) -> str:
        return f"<HousekeepingRun {self.task} {self.finished_at}>"
