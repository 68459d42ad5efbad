"""a draft's unset numbers are NULL: proposals.estimated_cost, beneficiaries and jobs_created nullable

Revision ID: a9c5e7d1f420
Revises: e7a3c5b9d218
Create Date: 2026-12-02 13:00:00

The three whole-number columns of a proposal were NOT NULL with a server default of 0, so a draft
that left one empty stored 0 and its page showed "Rp0" for a cost nobody had given, and 0 people
where the owner had said nothing. They become nullable without a default: NULL is "not given".
A submitted proposal always has all three: submitting with one unset is refused, as before, and
a new CHECK constraint (ck_proposals_numbers_given_when_submitted) holds every proposal that is
not a draft to it; the CHECK constraints >= 0 stay and let NULL through.

Existing rows keep their values: a draft saved earlier with an emptied number keeps its 0,
since nothing tells that 0 from a 0 the owner typed (0 beneficiaries and 0 new jobs are real
answers); only its cost, which must be above 0 to submit, still reads as missing on its page.
Submitted, withdrawn and imported proposals are untouched.

PostgreSQL: ALTER COLUMN ... DROP NOT NULL, DROP DEFAULT. SQLite cannot change a column's
nullability, so the table is rebuilt with foreign keys off (as 0006 and 0009 do), keeping its
AUTOINCREMENT, its sqlite_sequence value and its rows; proposal_status_changes, ratings and
decisions, which reference it, are not touched.

Downgrade: every NULL becomes 0 again, then the columns are NOT NULL with the default 0.
"""
import sqlalchemy as sa
from alembic import op

revision = "a9c5e7d1f420"
down_revision = "e7a3c5b9d218"
branch_labels = None
depends_on = None

COLUMNS = {"estimated_cost": sa.BigInteger(), "beneficiaries": sa.Integer(), "jobs_created": sa.Integer()}
GIVEN = "numbers_given_when_submitted"  # ck_proposals_… through the naming convention
GIVEN_SQL = ("status = 'draft' OR (estimated_cost IS NOT NULL AND beneficiaries IS NOT NULL "
             "AND jobs_created IS NOT NULL)")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, type_ in COLUMNS.items():
            op.alter_column("proposals", name, existing_type=type_, nullable=True, server_default=None)
        op.create_check_constraint(op.f(f"ck_proposals_{GIVEN}"), "proposals", GIVEN_SQL)
        return
    _sqlite_rebuild(nullable=True)


def downgrade():
    for name in COLUMNS:
        op.execute(f"UPDATE proposals SET {name} = 0 WHERE {name} IS NULL")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f(f"ck_proposals_{GIVEN}"), "proposals", type_="check")
        for name, type_ in COLUMNS.items():
            op.alter_column("proposals", name, existing_type=type_, nullable=False, server_default="0")
        return
    _sqlite_rebuild(nullable=False)


def _sqlite_rebuild(*, nullable: bool) -> None:
    """Rebuild proposals with the three columns (not) nullable, foreign keys off so no cascade fires."""
    context = op.get_context()
    if context.as_sql:
        raise RuntimeError("0019 rebuilds a SQLite table from the live schema; run it without --sql")
    with context.autocommit_block():
        connection = op.get_bind()
        if connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("COMMIT")  # the BEGIN IMMEDIATE hook opened one (see 0006)
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                sequence = connection.exec_driver_sql(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'proposals'").scalar()
                triggers = connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'proposals' "
                    "AND sql IS NOT NULL").scalars().all()
                with op.batch_alter_table("proposals", recreate="always",
                                          table_kwargs={"sqlite_autoincrement": True}) as batch_op:
                    for name, type_ in COLUMNS.items():
                        batch_op.alter_column(name, existing_type=type_, nullable=nullable,
                                              server_default=None if nullable else "0")
                    if nullable:
                        batch_op.create_check_constraint(op.f(f"ck_proposals_{GIVEN}"), GIVEN_SQL)
                    else:
                        batch_op.drop_constraint(op.f(f"ck_proposals_{GIVEN}"), type_="check")
                for sql in triggers:
                    connection.exec_driver_sql(sql)
                if sequence is not None:  # copying the rows kept only max(id); no id comes back
                    params = {"seq": sequence}
                    if not connection.execute(sa.text(
                            "UPDATE sqlite_sequence SET seq = :seq WHERE name = 'proposals'"), params).rowcount:
                        connection.execute(sa.text(
                            "INSERT INTO sqlite_sequence (name, seq) VALUES ('proposals', :seq)"), params)
                problems = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if problems:
                    raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:10]}")
            except BaseException:
                connection.exec_driver_sql("ROLLBACK")
                raise
            connection.exec_driver_sql("COMMIT")
        finally:
            connection.exec_driver_sql(f"PRAGMA foreign_keys = {1 if foreign_keys else 0}")
