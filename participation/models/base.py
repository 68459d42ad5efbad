"""Shared column helpers and enums for the models."""
from __future__ import annotations

import enum
from datetime import datetime, timezone

import sqlalchemy as sa


def utcnow() -> datetime:
    """The current time in UTC, naive, as every timestamp column stores it."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class LabelledEnum(str, enum.Enum):
    """A string enum whose members carry a translatable label."""

    def __new__(cls, value: str, label):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    def __str__(self) -> str:
        return self.value

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) pairs, e.g. for a select field."""
        return [(member.value, member.label) for member in cls]

    @classmethod
    def label_of(cls, code):
        """The translated label of a stored code, e.g. "minmax" from a snapshot's JSON; "–" for none.

        A code that is no longer a member prints as itself: a snapshot is immutable, and its
        minutes must still print after an enum changes.
        """
        if code is None or code == "":
            return "–"
        try:
            return cls(code).label
        except ValueError:
            return str(code)


def table_args(*args) -> tuple:
    """`__table_args__` for a table keyed by an integer id: `args`, plus AUTOINCREMENT on SQLite.

    DESIGN §3: ids of audited objects are never reused. For a plain INTEGER PRIMARY KEY, SQLite
    hands out max(id) + 1, so deleting the newest row (a draft proposal, say) frees its id for the
    next insert and the audit events about the deleted row then name another one. AUTOINCREMENT
    keeps the highest id ever given out in sqlite_sequence and never goes below it. PostgreSQL
    sequences never go back, so the flag changes nothing there. Migration 0006 rebuilt the
    existing tables this way. A migration creating a new such table must carry the flag too, and
    one whose batch operation recreates such a table on SQLite must pass
    table_kwargs={"sqlite_autoincrement": True}: reflection does not see AUTOINCREMENT.
    """
    return (*args, {"sqlite_autoincrement": True})


def enum_column(enum_cls: type[enum.Enum], name: str, length: int = 20, *, check: bool = True) -> sa.Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint (unless `check=False`), stored by value."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=check,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
