"""ratings combined as the session says: themed_sessions.rating_aggregation and min_raters

Revision ID: a1d4f7c2e823
Revises: c2e7a9b3d622
Create Date: 2026-12-02 17:00:00

How the planners' ratings of a proposal become one value (mean, median or standardized) and how
many planners must have rated before a proposal is ranked (NULL: every planner of the session).
Both columns are added in place (SQLite: ALTER TABLE ... ADD COLUMN), so existing sessions keep
the mean and themed_sessions keeps its AUTOINCREMENT. rating_aggregation has no CHECK constraint
(adding one would rebuild the table on SQLite); the form and the service accept only
RatingAggregation's values.
"""
import sqlalchemy as sa
from alembic import op

revision = "a1d4f7c2e823"
down_revision = "c2e7a9b3d622"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("themed_sessions", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("rating_aggregation", sa.String(length=20), server_default="mean",
                                      nullable=False))
        batch_op.add_column(sa.Column("min_raters", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("themed_sessions", recreate="never") as batch_op:
        batch_op.drop_column("min_raters")
        batch_op.drop_column("rating_aggregation")
