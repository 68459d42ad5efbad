"""Web security: session lifetime, role gates, response headers, the acting user of a request."""
from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from participation.extensions import db, login_manager
from participation.models import Role, ThemedSession, User

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # Bootstrap draws form controls with data: SVG backgrounds.
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SESSION_AUTH_AT = "_auth_at"
SESSION_SEEN_AT = "_seen_at"
# Refreshing the idle clock rewrites the cookie; once a minute is precise enough.
SEEN_AT_RESOLUTION = 60


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects).

    Refused: anything not starting with one slash, a second slash or any backslash (browsers read
    "//host" and "/\\host" as another host), and control characters (browsers drop a tab or a
    newline, so a slash, a tab and a slash is "//host" to them).
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """Load the user named by the session token, only if its epoch is still current."""
    user_id, _, epoch = token.partition(":")
    if not (user_id.isdigit() and epoch.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_epoch != int(epoch):
        return None
    return user


def start_session(user: User) -> None:
    """Begin a fresh authenticated session (the caller has already cleared the old one)."""
    now = int(time.time())
    session.permanent = True
    session[SESSION_AUTH_AT] = now
    session[SESSION_SEEN_AT] = now


def enforce_session_lifetime():
    """Log out sessions past their idle timeout or absolute lifetime."""
    # A load balancer's health probe must not touch the session (nor the database through it).
    if request.endpoint in ("static", "health.healthz") or not current_user.is_authenticated:
        return None
    now = int(time.time())
    config = current_app.config
    auth_at = session.get(SESSION_AUTH_AT, 0)
    seen_at = session.get(SESSION_SEEN_AT, 0)
    expired = (
        now - auth_at > config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()
        or now - seen_at > config["SESSION_IDLE_TIMEOUT"].total_seconds()
    )
    if expired:
        logout_user()
        session.clear()
        flash(_l("Your session has ended. Please sign in again."), "warning")
        if request.method == "GET":
            return redirect(url_for("auth.login", next=request.full_path))
        return redirect(url_for("auth.login"), code=303)
    if now - seen_at >= SEEN_AT_RESOLUTION:
        session[SESSION_SEEN_AT] = now
    return None


def role_required(*roles: Role):
    """Allow the view only to signed-in users holding one of `roles`; others get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles
        return wrapped

    return decorator


# Role groups, defined once: who works on sessions, and who manages them.
STAFF = (Role.PLANNER, Role.FACILITATOR, Role.ADMIN)
MANAGERS = (Role.PLANNER, Role.ADMIN)


def session_page(*roles: Role, manage: bool = False):
    """Gate and load a themed-session page: the view gets `themed_session` instead of `session_id`.

    Signed-out visitors are sent to sign in; a wrong role is 403; a session the user does not
    work on is 404 (it does not exist for them); a read-only member of a page that manages the
    session (`manage=True`) is 403.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, session_id: int, **kwargs):
            themed_session = db.get_or_404(ThemedSession, session_id)
            if not themed_session.can_facilitate(current_user):
                abort(404)
            if manage and not themed_session.can_manage(current_user):
                abort(403)
            return view(*args, themed_session=themed_session, **kwargs)

        return role_required(*roles)(wrapped)

    return decorator


def rerender_on_csrf_error(view):
    """Mark a form view that can safely re-render itself when its CSRF token has expired.

    The view only acts after `form.validate_on_submit()`, which fails on the same token, so
    calling it again shows the form with the typed data kept and a message on the token.
    """
    view.rerender_on_csrf_error = True
    return view


def set_security_headers(response):
    """Headers on every response: CSP, framing, sniffing, referrer, HSTS, caching of private pages."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    # Production only: a browser that has once seen the site over https never again tries it
    # over http (browsers ignore the header on an http response). No includeSubDomains: other
    # sites of the city under the same domain may still be served over http.
    max_age = current_app.config["HSTS_MAX_AGE"]
    if max_age:
        headers.setdefault("Strict-Transport-Security", f"max-age={max_age}")
    # Dynamic pages carry personal data or CSRF tokens: never store them in a shared cache
    # or the browser's back-forward history. Static files keep their normal caching.
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response


def client_ip() -> str | None:
    """The address the request came from (a proxy must be configured with ProxyFix)."""
    return (request.remote_addr or "")[:45] or None


def web_actor():
    """The `Actor` of the current request: the signed-in user (if any), the client IP, the web."""
    from participation.events import Actor, Channel

    user = current_user._get_current_object() if current_user.is_authenticated else None
    return Actor(user=user, ip=client_ip(), channel=Channel.WEB)

