"""The append-only audit log."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.extensions import db
from participation.models.base import table_args, utcnow
from participation.models.user import User


class AuditEvent(db.Model):
    """Who did what to which object, when and from where. Rows are never changed."""

    __tablename__ = "audit_events"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(64))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    # Which door the operation came through (events.Channel): web, cli, demo, api.
    channel: Mapped[str | None] = mapped_column(sa.String(8))

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action}>"


class AppendOnlyError(RuntimeError):
    """An attempt to change or delete an audit event."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper, _connection, target):
    raise AppendOnlyError(f"audit event {target.id} is append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper, _connection, target):
    raise AppendOnlyError(f"audit event {target.id} is append-only")
