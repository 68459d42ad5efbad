"""conflicts of interest: a staff member's declared tie to a business

Revision ID: b2e5a8d3f924
Revises: a1d4f7c2e823
Create Date: 2026-12-02 17:00:00

`conflicts_of_interest` holds each declaration (kind, note, who declared it and when) and its
withdrawal: a declaration made by mistake is withdrawn, not deleted, so the audit trail and the
minutes keep it. A partial unique index allows one active declaration per (user, business).
`users.phone`: a staff member's number, which the suggestions compare with the owners'. A new
table and a column added in place: nothing existing is rebuilt on SQLite.
"""
import sqlalchemy as sa
from alembic import op

revision = "b2e5a8d3f924"
down_revision = "a1d4f7c2e823"
branch_labels = None
depends_on = None

ACTIVE = sa.text("withdrawn_at IS NULL")


def upgrade():
    with op.batch_alter_table("users", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
    op.create_table(
        "conflicts_of_interest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("ownership", "family", "employment", "association", "other", name="conflict_kind",
                                  native_enum=False, create_constraint=True, length=20), nullable=False),
        sa.Column("note", sa.String(length=500), server_default="", nullable=False),
        sa.Column("declared_at", sa.DateTime(), nullable=False),
        sa.Column("declared_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"],
                                name=op.f("fk_conflicts_of_interest_business_id_businesses"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["declared_by_id"], ["users.id"],
                                name=op.f("fk_conflicts_of_interest_declared_by_id_users")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_conflicts_of_interest_user_id_users")),
        sa.ForeignKeyConstraint(["withdrawn_by_id"], ["users.id"],
                                name=op.f("fk_conflicts_of_interest_withdrawn_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflicts_of_interest")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_conflicts_of_interest_user_id", "conflicts_of_interest", ["user_id"])
    op.create_index("ix_conflicts_of_interest_business_id", "conflicts_of_interest", ["business_id"])
    op.create_index("ux_conflicts_of_interest_active", "conflicts_of_interest", ["user_id", "business_id"],
                    unique=True, sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade():
    op.drop_index("ux_conflicts_of_interest_active", table_name="conflicts_of_interest")
    op.drop_index("ix_conflicts_of_interest_business_id", table_name="conflicts_of_interest")
    op.drop_index("ix_conflicts_of_interest_user_id", table_name="conflicts_of_interest")
    op.drop_table("conflicts_of_interest")
    with op.batch_alter_table("users", recreate="never") as batch_op:
        batch_op.drop_column("phone")
