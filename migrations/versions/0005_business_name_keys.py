"""recompute business name keys: dotted and spaced legal-form prefixes (C.V., U.D., P T)

Revision ID: 5b1d0c2e9f47
Revises: 68e0720c5b5c
Create Date: 2026-11-26 01:05:00

Data only. The duplicate-matching key now strips "C.V.", "U.D.", "P.T." and "P T" like "CV",
"UD" and "PT"; keys stored under the old rule ("c v maju jaya") would never match again. The
rules are copied here, frozen, so that later changes to the app's normaliser do not change what
this migration did.
"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "5b1d0c2e9f47"
down_revision = "68e0720c5b5c"
branch_labels = None
depends_on = None

NEW_PREFIX = re.compile(r"^(?:p ?t|c ?v|u ?d|p ?d|koperasi|kop)\b\s*")
OLD_PREFIX = re.compile(r"^(?:pt|cv|ud|pd|koperasi|kop)\b\.?\s*")


def _key(name: str, prefix: re.Pattern) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^\w\s]", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    previous = None
    while previous != text:
        previous, text = text, prefix.sub("", text).strip()
    return text


def _rekey(prefix: re.Pattern) -> None:
    connection = op.get_bind()
    businesses = sa.table("businesses", sa.column("id", sa.Integer), sa.column("name", sa.String),
                          sa.column("name_key", sa.String))
    changes = [{"row_id": row.id, "key": _key(row.name, prefix)}
               for row in connection.execute(sa.select(businesses.c.id, businesses.c.name, businesses.c.name_key))
               if _key(row.name, prefix) != row.name_key]
    if changes:
        connection.execute(businesses.update().where(businesses.c.id == sa.bindparam("row_id"))
                           .values(name_key=sa.bindparam("key")), changes)


def upgrade():
    _rekey(NEW_PREFIX)


def downgrade():
    _rekey(OLD_PREFIX)
