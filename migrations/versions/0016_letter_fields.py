"""the invitation as an official letter: themed_sessions.letter_* and signatory_*

Revision ID: d4f2b8e61a16
Revises: a5c9e2f7d315
Create Date: 2026-12-02 09:30:00

Tata naskah dinas: the invitation's Nomor, Sifat, Lampiran and Perihal, the letter date the
facilitator sets, and the signatory's name, jabatan and NIP. Every column is added in place
(SQLite: ALTER TABLE ... ADD COLUMN), with a server default where it is NOT NULL, so existing
sessions read as an ordinary letter with no number yet, and themed_sessions keeps its
AUTOINCREMENT. letter_nature has no CHECK constraint (adding one would rebuild the table on
SQLite); the form and the service accept only LetterNature's values.
"""
import sqlalchemy as sa
from alembic import op

revision = "d4f2b8e61a16"
down_revision = "a5c9e2f7d315"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("themed_sessions", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("letter_number", sa.String(length=100), server_default="", nullable=False))
        batch_op.add_column(sa.Column("letter_nature", sa.String(length=20), server_default="biasa", nullable=False))
        batch_op.add_column(sa.Column("letter_attachments", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("letter_subject", sa.String(length=200), server_default="", nullable=False))
        batch_op.add_column(sa.Column("letter_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("signatory_name", sa.String(length=120), server_default="", nullable=False))
        batch_op.add_column(sa.Column("signatory_title", sa.String(length=200), server_default="", nullable=False))
        batch_op.add_column(sa.Column("signatory_nip", sa.String(length=18), server_default="", nullable=False))


def downgrade():
    with op.batch_alter_table("themed_sessions", recreate="never") as batch_op:
        for name in ("signatory_nip", "signatory_title", "signatory_name", "letter_date", "letter_subject",
                     "letter_attachments", "letter_nature", "letter_number"):
            batch_op.drop_column(name)
