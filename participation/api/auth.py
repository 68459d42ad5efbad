"""Who calls the API: nobody but the bearer of a personal token, never a cookie (DESIGN §9).

`Authorization: Bearer <token>` names a token made on the account page (participation/auth/
api_tokens.py). The token acts as its user exactly as the web would: the views ask the same
model questions (`can_facilitate`, `can_view`, `can_take_part`), so another's object is a 404
here too. An Authorization header that names no usable token (unknown, revoked, expired, its
user deactivated, or not a bearer token at all) is a 401 with `WWW-Authenticate`, never read as
anonymous: a client that sends credentials learns that they did not count. A token without the
scope an operation needs (`read` for GET, `write` for POST) is a 403.

Every request counts against the limits of its client IP and, with a usable token, of its token
(participation/limits.py: API_IP_RATE_LIMIT and API_RATE_LIMIT per API_RATE_WINDOW, counted in
the database so that they hold across workers and hosts); over either, a 429 with Retry-After.
The count and the token's last use are committed before the view runs, in a short writing
transaction even for a GET (`database.writing()`).
"""
from __future__ import annotations

from functools import wraps

from flask import g, request
from werkzeug.exceptions import Forbidden, Unauthorized

from participation import limits
from participation.auth import api_tokens
from participation.database import writing
from participation.models import ApiToken, TokenScope
from participation.security import client_ip

BEARER_SCHEME = "bearerAuth"
SECURITY = [{BEARER_SCHEME: []}]
SECURITY_SCHEME = {"type": "http", "scheme": "bearer",
                   "description": "A personal access token from the account page (`mt_…`), sent as "
                                  "`Authorization: Bearer <token>`. It acts as its user, with its scopes "
                                  "`read` (GET) and `write` (POST)."}


class InvalidToken(Unauthorized):
    """The Authorization header names no usable token (RFC 6750: invalid_token)."""

    def __init__(self):
        super().__init__()
        self.data = {"headers": {"WWW-Authenticate": 'Bearer error="invalid_token"'}}


class MissingScope(Forbidden):
    """The token lacks the scope the operation needs (RFC 6750: insufficient_scope)."""

    def __init__(self, scope: TokenScope):
        super().__init__()
        self.data = {"headers": {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope.value}"'}}


def bearer_text() -> str | None:
    """The token text of `Authorization: Bearer <token>`; "" for another kind of credential; None for none."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, text = header.strip().partition(" ")
    return text.strip() if scheme.lower() == "bearer" else ""


def identify_caller() -> None:
    """Before every API request: count it, find its token (g.api_token, g.api_user), or refuse it."""
    raw = bearer_text()
    ip = client_ip()
    with writing():
        token = api_tokens.find(raw) if raw else None
        usable = token is not None and token.is_usable()
        checks = [(limits.API_TOKEN, token.prefix)] if usable else []
        checks += [(limits.API_IP, ip)] if ip else []
        limits.enforce(checks, ip=ip)
        if usable:
            api_tokens.authenticate(raw, ip=ip)
    if raw is not None and not usable:
        raise InvalidToken()
    g.api_token = token if usable else None
    g.api_user = token.user if usable else None


def current_token() -> ApiToken | None:
    return g.get("api_token")


def token_required(scope: TokenScope):
    """The operation needs a usable token with `scope`: 401 without one, 403 without the scope."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            token = current_token()
            if token is None:
                raise Unauthorized()
            if not token.allows(scope):
                raise MissingScope(scope)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def current_api_user():
    """The user the request's token acts for; None for an anonymous caller."""
    return g.get("api_user")
