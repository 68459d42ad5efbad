"""a planner's constraints on the funded set: must-fund, exclusive groups, category caps

Revision ID: c3f6b9e4a025
Revises: b2e5a8d3f924
Create Date: 2026-12-02 17:00:00

- `proposals.must_fund_reason`: set, the proposal is funded whatever its rank, for that reason.
- `categories.budget_cap`: the most the funded proposals of the category may cost together.
- `exclusive_groups` and `exclusive_group_members`: named proposals of a session of which at most
  one may be funded.
Nullable columns added in place (no table rebuilt on SQLite) and two new tables.
"""
import sqlalchemy as sa
from alembic import op

revision = "c3f6b9e4a025"
down_revision = "b2e5a8d3f924"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("proposals", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("must_fund_reason", sa.String(length=500), nullable=True))
    with op.batch_alter_table("categories", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("budget_cap", sa.BigInteger(), nullable=True))
    op.create_table(
        "exclusive_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_exclusive_groups_created_by_id_users")),
        sa.ForeignKeyConstraint(["session_id"], ["themed_sessions.id"],
                                name=op.f("fk_exclusive_groups_session_id_themed_sessions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exclusive_groups")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_exclusive_groups_session_id"), "exclusive_groups", ["session_id"], unique=False)
    op.create_table(
        "exclusive_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["exclusive_groups.id"],
                                name=op.f("fk_exclusive_group_members_group_id_exclusive_groups"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"],
                                name=op.f("fk_exclusive_group_members_proposal_id_proposals"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "proposal_id", name=op.f("pk_exclusive_group_members")),
    )
    op.create_index(op.f("ix_exclusive_group_members_proposal_id"), "exclusive_group_members", ["proposal_id"],
                    unique=False)


def downgrade():
    op.drop_index(op.f("ix_exclusive_group_members_proposal_id"), table_name="exclusive_group_members")
    op.drop_table("exclusive_group_members")
    op.drop_index(op.f("ix_exclusive_groups_session_id"), table_name="exclusive_groups")
    op.drop_table("exclusive_groups")
    with op.batch_alter_table("categories", recreate="never") as batch_op:
        batch_op.drop_column("budget_cap")
    with op.batch_alter_table("proposals", recreate="never") as batch_op:
        batch_op.drop_column("must_fund_reason")
