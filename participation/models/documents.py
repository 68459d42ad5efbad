"""The meeting's documents: the agenda and the institution's letterhead."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from participation.extensions import db
from participation.models.base import LabelledEnum, enum_column, table_args, utcnow


class AgendaKind(LabelledEnum):
    """The parts of a susunan acara."""

    OPENING = "opening", _l("Opening")
    REMARKS = "remarks", _l("Remarks")
    PRESENTATION = "presentation", _l("Presentation of proposals")
    DELIBERATION = "deliberation", _l("Deliberation")
    AGREEMENT = "agreement", _l("Agreement on priorities")
    CLOSING = "closing", _l("Closing")
    OTHER = "other", _l("Other")


class AgendaItem(db.Model):
    """One item of a session's agenda; presentation blocks belong to a category."""

    __tablename__ = "agenda_items"
    __table_args__ = table_args(sa.CheckConstraint("duration_minutes >= 0", name="duration_non_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("themed_sessions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[AgendaKind] = mapped_column(enum_column(AgendaKind, "agenda_kind"))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.String(1000), default="", server_default="")
    duration_minutes: Mapped[int] = mapped_column(default=10)
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<AgendaItem {self.position} {self.kind.value}>"


class Letterhead(db.Model):
    """The institution's letterhead (kop surat) on every printed document; one row."""

    __tablename__ = "letterheads"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_name: Mapped[str] = mapped_column(sa.String(200))
    address: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    contact: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    # The logo lives in the database, so that every worker on every host prints the same kop.
    logo: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    logo_type: Mapped[str | None] = mapped_column(sa.String(20))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Letterhead {self.institution_name!r}>"
