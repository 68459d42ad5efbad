"""Who calls the API: nobody but the bearer of a token, never a cookie (DESIGN §9)."""
from __future__ import annotations

from flask import request
from werkzeug.exceptions import Unauthorized


def current_api_user():
    """The user an `Authorization: Bearer <token>` header acts for; None for an anonymous caller.

    No token is accepted yet, so any Authorization header is refused with 401 rather than
    silently read as anonymous: a client that sends credentials learns that they did not count.
    """
    if "Authorization" not in request.headers:
        return None
    raise Unauthorized()
