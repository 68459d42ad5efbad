"""joint proposals: proposals.merged_into_id, proposal_co_proposers, dismissed_clusters

Revision ID: d4a7c0f5b126
Revises: c3f6b9e4a025
Create Date: 2026-12-02 17:00:00

A planner merges near-duplicate proposals of several businesses into one joint proposal: each
original keeps its row and points at the joint one (merged_into_id, nullable, so existing rows
read as not merged), the joint proposal lists its co-proposers (one row per original, with its
business), and a cluster the planner dismissed is remembered. The column is added in place with
its foreign key inline (SQLite: ALTER TABLE ... ADD COLUMN ... REFERENCES), so proposals keeps its
AUTOINCREMENT and no referenced table is rebuilt; the downgrade drops it in place.
"""
import sqlalchemy as sa
from alembic import op

revision = "d4a7c0f5b126"
down_revision = "c3f6b9e4a025"
branch_labels = None
depends_on = None

FOREIGN_KEY = "fk_proposals_merged_into_id_proposals"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("proposals", sa.Column("merged_into_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FOREIGN_KEY, "proposals", "proposals", ["merged_into_id"], ["id"])
    else:
        op.execute(f"ALTER TABLE proposals ADD COLUMN merged_into_id INTEGER "
                   f"CONSTRAINT {FOREIGN_KEY} REFERENCES proposals (id)")
    op.create_table(
        "proposal_co_proposers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("original_id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], ondelete="CASCADE",
                                name=op.f("fk_proposal_co_proposers_proposal_id_proposals")),
        sa.ForeignKeyConstraint(["original_id"], ["proposals.id"],
                                name=op.f("fk_proposal_co_proposers_original_id_proposals")),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"],
                                name=op.f("fk_proposal_co_proposers_business_id_businesses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_co_proposers")),
        sa.UniqueConstraint("proposal_id", "original_id",
                            name=op.f("uq_proposal_co_proposers_proposal_id_original_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_proposal_co_proposers_proposal_id"), "proposal_co_proposers", ["proposal_id"])
    op.create_index(op.f("ix_proposal_co_proposers_original_id"), "proposal_co_proposers", ["original_id"])
    op.create_table(
        "dismissed_clusters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("proposal_ids", sa.Text(), nullable=False),
        sa.Column("dismissed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["themed_sessions.id"], ondelete="CASCADE",
                                name=op.f("fk_dismissed_clusters_session_id_themed_sessions")),
        sa.ForeignKeyConstraint(["dismissed_by_id"], ["users.id"],
                                name=op.f("fk_dismissed_clusters_dismissed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dismissed_clusters")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_dismissed_clusters_session_id"), "dismissed_clusters", ["session_id"])


def downgrade():
    op.drop_index(op.f("ix_dismissed_clusters_session_id"), table_name="dismissed_clusters")
    op.drop_table("dismissed_clusters")
    op.drop_index(op.f("ix_proposal_co_proposers_original_id"), table_name="proposal_co_proposers")
    op.drop_index(op.f("ix_proposal_co_proposers_proposal_id"), table_name="proposal_co_proposers")
    op.drop_table("proposal_co_proposers")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(FOREIGN_KEY, "proposals", type_="foreignkey")
    # In place on both databases (SQLite drops a column with an inline foreign key since 3.35).
    with op.batch_alter_table("proposals", recreate="never") as batch_op:
        batch_op.drop_column("merged_into_id")
