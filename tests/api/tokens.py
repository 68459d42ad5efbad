"""Tokens for the API tests: issued through the service, their whole text kept for the header."""
from __future__ import annotations

from datetime import date, timedelta

from tests.conftest import app_db


def issue_token(app, user_id: int, scopes=("read", "write"), days: int = 30) -> str:
    """A new token of `user_id`'s; its whole text."""
    from participation.auth import api_tokens
    from participation.models import User
    from tests.factories import as_actor

    with app_db(app) as session:
        user = session.get(User, user_id)
        issued = api_tokens.issue(user, "Uji", list(scopes), date.today() + timedelta(days=days), as_actor(user))
        session.commit()
        return issued.raw


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}
