"""Web security: session lifetime, role gates, response headers, audit writing."""
from __future__ import annotations

import time
from functools import wraps

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from participation.extensions import db, login_manager
from participation.models import AuditEvent, Role, User

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
    if request.endpoint == "static" or not current_user.is_authenticated:
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


def rerender_on_csrf_error(view):
    """Mark a form view that can safely re-render itself when its CSRF token has expired.

    The view only acts after `form.validate_on_submit()`, which fails on the same token, so
    calling it again shows the form with the typed data kept and a message on the token.
    """
    view.rerender_on_csrf_error = True
    return view


def set_security_headers(response):
    """Headers on every response: CSP, framing, sniffing, referrer, caching of private pages."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    # Dynamic pages carry personal data or CSRF tokens: never store them in a shared cache
    # or the browser's back-forward history. Static files keep their normal caching.
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response


def client_ip() -> str | None:
    """The address the request came from (a proxy must be configured with ProxyFix)."""
    return (request.remote_addr or "")[:45] or None


def record_audit(action: str, *, actor: User | None = None, obj=None, object_type: str | None = None,
                 object_id=None, before: dict | None = None, after: dict | None = None,
                 ip: str | None = None) -> AuditEvent:
    """Append an audit event to the current transaction."""
    if obj is not None:
        object_type = object_type or type(obj).__name__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    event = AuditEvent(
        action=action,
        actor=actor,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=before,
        after=after,
        ip=ip,
    )
    db.session.add(event)
    return event
