"""Background jobs: heavy work (large imports, large PDFs) run by the worker, off the request path."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.extensions import db
from participation.models.base import LabelledEnum, enum_column, table_args, utcnow


class JobState(LabelledEnum):
    """pending → running → done / failed; a running job whose lease ran out is pending again."""

    PENDING = "pending", _l("Waiting"), "secondary"
    RUNNING = "running", _l("Running"), "info"
    DONE = "done", _l("Done"), "success"
    FAILED = "failed", _l("Failed"), "danger"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED)


class Job(db.Model):
    """One piece of queued work, its progress and its result, for the user who asked for it."""

    __tablename__ = "jobs"
    __table_args__ = table_args(sa.Index("ix_jobs_state_id", "state", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    state: Mapped[JobState] = mapped_column(enum_column(JobState, "job_state"), default=JobState.PENDING)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("themed_sessions.id", ondelete="CASCADE"))
    # The web channel and address the work was asked from, for the audit events the job records.
    channel: Mapped[str] = mapped_column(sa.String(8), default="web")
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    input_name: Mapped[str | None] = mapped_column(sa.String(200))
    input_data: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None] = mapped_column()
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    output_name: Mapped[str | None] = mapped_column(sa.String(200))
    output_type: Mapped[str | None] = mapped_column(sa.String(60))
    output_data: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    user = relationship("User")
    themed_session = relationship("ThemedSession")

    @property
    def percent(self) -> int | None:
        """How far the job is, 0–100, when its size is known."""
        if not self.total:
            return 100 if self.state is JobState.DONE else None
        return min(100, round(100 * self.done / self.total))

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.state.value}>"
