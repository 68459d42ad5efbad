"""background jobs: large imports and large PDFs run by the worker

Revision ID: 8d4a3f5b1e64
Revises: 7c3f2e4a0d53
Create Date: 2026-12-02 03:20:00

One new table. Its id is AUTOINCREMENT on SQLite like every audited table (job.queued and
job.finished events name the job). The uploaded file and the produced PDF live in the row, so a
worker on any host can run the job and any web worker can serve its result.
"""
import sqlalchemy as sa
from alembic import op

revision = "8d4a3f5b1e64"
down_revision = "7c3f2e4a0d53"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("state", sa.Enum("pending", "running", "done", "failed", name="job_state",
                                   native_enum=False, create_constraint=True, length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("input_name", sa.String(length=200), nullable=True),
        sa.Column("input_data", sa.LargeBinary(), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("output_name", sa.String(length=200), nullable=True),
        sa.Column("output_type", sa.String(length=60), nullable=True),
        sa.Column("output_data", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["themed_sessions.id"], name=op.f("fk_jobs_session_id_themed_sessions"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_jobs_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_jobs_state_id", "jobs", ["state", "id"])
    op.create_index(op.f("ix_jobs_user_id"), "jobs", ["user_id"])


def downgrade():
    op.drop_index(op.f("ix_jobs_user_id"), table_name="jobs")
    op.drop_index("ix_jobs_state_id", table_name="jobs")
    op.drop_table("jobs")
