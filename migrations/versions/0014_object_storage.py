"""object storage for stored files: stored_files.object_key

Revision ID: b07d6c8e4197
Revises: af6c5b7d3086
Create Date: 2026-12-02 06:00:00

With STORAGE_URL set (an S3-compatible bucket), a stored file's bytes live in the bucket under
stored_files.object_key and its `data` is left empty; name, type, size and SHA-256 stay in the
database either way. A row whose object_key is NULL keeps its bytes in `data`, as before, so the
upgrade moves nothing: `flask move-files-to-storage` copies existing files into the bucket once
STORAGE_URL is set, and `flask move-files-to-database` brings them back.

The column and its unique index are added in place (SQLite: ALTER TABLE ... ADD COLUMN and
CREATE UNIQUE INDEX), so stored_files keeps its AUTOINCREMENT and proposals' foreign key to it.

Downgrade refuses while any file lives in the bucket (the old code could not find its bytes):
run `flask move-files-to-database` first.
"""
import sqlalchemy as sa
from alembic import op

revision = "b07d6c8e4197"
down_revision = "af6c5b7d3086"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stored_files", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("object_key", sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f("ix_stored_files_object_key"), ["object_key"], unique=True)


def downgrade():
    in_bucket = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM stored_files WHERE object_key IS NOT NULL")).scalar()
    if in_bucket:
        raise RuntimeError(f"{in_bucket} stored files live in the object store; run "
                           "`flask move-files-to-database` before downgrading below b07d6c8e4197")
    with op.batch_alter_table("stored_files", recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_files_object_key"))
        batch_op.drop_column("object_key")
