"""Personal access tokens for the API (DESIGN §3 ApiToken, §9)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.extensions import db
from participation.models.base import LabelledEnum, table_args, utcnow

if TYPE_CHECKING:
    from participation.models.user import User


class TokenScope(LabelledEnum):
    """What a token may do: read (GET) and write (POST). The values are a contract of the API."""

    READ = "read", _l("Read")
    WRITE = "write", _l("Write")


class ApiToken(db.Model):
    """One personal access token: `prefix` is shown and looked up, only a SHA-256 of the secret is kept.

    The whole token reads `<prefix>_<secret>`; the secret is 256 random bits, so a plain digest
    (no salt, no slow hash) is enough to keep a stolen table useless. A token works until
    `expires_at` or `revoked_at`, whichever comes first, and only while its user is active.
    """

    __tablename__ = "api_tokens"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    # Space-separated TokenScope values, e.g. "read write".
    scopes: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    last_used_ip: Mapped[str | None] = mapped_column(sa.String(45))
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}>"

    @property
    def scope_list(self) -> list[TokenScope]:
        return [TokenScope(value) for value in self.scopes.split()]

    def allows(self, scope: TokenScope) -> bool:
        return scope.value in self.scopes.split()

    def is_expired(self, now: datetime | None = None) -> bool:
        return (now or utcnow()) >= self.expires_at

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def is_usable(self, now: datetime | None = None) -> bool:
        """Whether the token authenticates now: not revoked, not expired, its user active."""
        return not self.revoked and not self.is_expired(now) and self.user.active
