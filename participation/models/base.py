"""Shared column helpers and enums for the models."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa


def utcnow() -> datetime:
    """The current time in UTC, naive, as every timestamp column stores it."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


# Bootstrap 5.3's contextual colours; `text-bg-<style>` pairs each with a text colour of 4.5:1 contrast.
BADGE_STYLES = frozenset({"primary", "secondary", "success", "danger", "warning", "info", "light", "dark"})


class LabelledEnum(str, enum.Enum):
    """A string enum whose members carry a translatable label and a badge style.

    A member is declared as `CODE = "code", _l("Label")`, or, for a status shown as a badge,
    `CODE = "code", _l("Label"), "success"`; the style is one of BADGE_STYLES ("secondary" when
    none is given) and the `status_badge` macro renders it as `text-bg-<style>`.
    """

    def __new__(cls, value: str, label, badge: str = "secondary"):
        if badge not in BADGE_STYLES:
            raise ValueError(f"{cls.__name__}.{value}: unknown badge style {badge!r}")
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        member.badge = badge
        return member

    def __str__(self) -> str:
        return self.value

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) pairs, e.g. for a select field."""
        return [(member.value, member.label) for member in cls]

    @classmethod
    def of(cls, code):
        """The member for a stored code, e.g. "deferred" from a snapshot's JSON; None for none.

        A code that is no longer a member stands in as a RetiredCode that prints as itself: a
        snapshot is immutable, and its pages and minutes must still show after an enum changes.
        """
        if code is None or code == "":
            return None
        try:
            return cls(code)
        except ValueError:
            return RetiredCode(str(code))

    @classmethod
    def label_of(cls, code):
        """The translated label of a stored code, e.g. "minmax" from a snapshot's JSON; "–" for none."""
        member = cls.of(code)
        return "–" if member is None else member.label


@dataclass(frozen=True)
class RetiredCode:
    """A stored code that is no longer a member of its enum: label and value are the code itself."""

    value: str
    badge: str = "secondary"

    @property
    def label(self) -> str:
        return self.value

    def __str__(self) -> str:
        return self.value


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
