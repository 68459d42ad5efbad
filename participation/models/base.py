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


def enum_column(enum_cls: type[enum.Enum], name: str, length: int = 20) -> sa.Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint, stored by value."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
