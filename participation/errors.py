"""Error pages that show no internals; the 500 handler rolls the transaction back."""
from __future__ import annotations

import math
from datetime import timedelta

from flask import current_app, g, make_response, render_template, request, session
from flask_babel import lazy_gettext as _l, ngettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from participation.auth.passwords import HashingBusy
from participation.extensions import db
from participation.forms import CSRF_FAILED
from participation.limits import RateLimited

# status -> (title, explanation); nothing from the exception itself is ever shown.
PAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. If you were filling in a form, "
                                "go back, reload the page and try again.")),
    403: (_l("Access denied"), _l("Your account does not have access to this page.")),
    404: (_l("Page not found"), _l("The page you are looking for does not exist or is not available to you.")),
    405: (_l("Method not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("File too large"), _l("The file or form you sent is larger than allowed.")),
    429: (_l("Too many requests"), _l("Too many attempts in a short time. Wait a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("An unexpected error occurred and nothing was saved. Try again in a "
                                         "moment; if it keeps happening, tell the administrator.")),
}
GENERIC = (_l("Request failed"), _l("The request could not be completed."))


def render_error(status: int, description: str | None = None):
    """The error page for `status`, in the user's language."""
    title, text = PAGES.get(status, GENERIC)
    return render_template("errors/error.html", status=status, title=title, text=text,
                           description=description), status


def handle_http_exception(error: HTTPException):
    """Known HTTP errors get their own page; the description never comes from user input."""
    if error.code is None or error.code < 400:
        return error
    response = make_response(render_error(error.code))
    if error.code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    if error.code == 429 and getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def wait_text(retry_after: timedelta) -> str:
    """"Try again in N minutes (seconds)" for a refusal that lasts `retry_after`."""
    seconds = max(1, math.ceil(retry_after.total_seconds()))
    if seconds < 120:
        return ngettext("Try again in %(num)d second.", "Try again in %(num)d seconds.", seconds)
    minutes = math.ceil(seconds / 60)
    return ngettext("Try again in %(num)d minute.", "Try again in %(num)d minutes.", minutes)


def retry_after_header(retry_after: timedelta) -> str:
    """The Retry-After value, in whole seconds (at least 1)."""
    return str(max(1, math.ceil(retry_after.total_seconds())))


def handle_rate_limited(error: RateLimited):
    """An abuse limit refused the request: 429, what was counted, when to come back, Retry-After."""
    db.session.rollback()
    title, text = PAGES[429]
    text = f"{error.limit.message or text} {wait_text(error.retry_after)}"
    response = make_response(render_template("errors/error.html", status=429, title=title, text=text,
                                             description=None), 429)
    response.headers["Retry-After"] = retry_after_header(error.retry_after)
    return response


def handle_hashing_busy(error: HashingBusy):
    """Every password-hashing slot is taken: 503 with a short Retry-After rather than a queue."""
    db.session.rollback()
    response = make_response(render_template(
        "errors/error.html", status=503, title=_l("Busy"),
        text=_l("Many sign-ins are being checked at this moment. Wait a few seconds and try again."),
        description=None), 503)
    response.headers["Retry-After"] = str(error.retry_after)
    return response


DATABASE_BUSY_RETRY_SECONDS = 5


def handle_database_error(error: OperationalError):
    """SQLite's write lock stayed taken for the whole busy timeout: 503 and Retry-After, not a 500.

    Nothing was saved (the transaction is rolled back), so sending the form again is safe. Any
    other operational error is a server error as before.
    """
    if "database is locked" not in str(error.orig):
        return handle_server_error(error)
    db.session.rollback()
    current_app.logger.warning("database busy on %s %s", request.method, request.path)
    response = make_response(render_template(
        "errors/error.html", status=503, title=_l("Busy"),
        text=_l("The database is busy with a large change at this moment. Nothing was saved: wait a few "
                "seconds and send it again."),
        description=None), 503)
    response.headers["Retry-After"] = str(DATABASE_BUSY_RETRY_SECONDS)
    return response


def handle_csrf_error(error: CSRFError):
    """Re-render forms that can keep the typed data; otherwise explain and offer a reload.

    The view runs inside this handler, where an abort would be unhandled (a 500): a 404 or 403
    it raises, for an object or a page the user may not open, is answered as that status. A view
    that answers with a redirect has no form to show again: the reload page explains instead, so
    that a request without a valid token is always a 4xx and never looks accepted.
    """
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and getattr(view, "rerender_on_csrf_error", False):
        g.setdefault(CSRF_FAILED, True)
        try:
            response = make_response(view(**(request.view_args or {})))
        except HTTPException as refused:
            return handle_http_exception(refused)
        if not response.status_code // 100 == 3:
            response.status_code = max(response.status_code, 400)
            return response
        db.session.rollback()
        session.pop("_flashes", None)  # the view's own message would name the wrong problem
    return render_error(400, "csrf")


def handle_server_error(error: Exception):
    """Roll back whatever the request had half-done and show a plain apology."""
    db.session.rollback()
    original = getattr(error, "original_exception", None) or error
    if not isinstance(original, HTTPException):
        current_app.logger.exception("Unhandled error on %s %s", request.method, request.path,
                                     exc_info=original)
    return render_error(500)


def api_or_web(api_handler, web_handler):
    """`api_handler` under /api/v1 (its JSON error shape, even for an unknown path), else `web_handler`."""
    from participation.api.blueprint import is_api_path

    def handler(error):
        return (api_handler if is_api_path(request.path) else web_handler)(error)

    handler.__name__ = web_handler.__name__
    return handler


def register_error_handlers(app) -> None:
    """Attach the handlers to `app`."""
    from participation.api import errors as api

    app.register_error_handler(CSRFError, api_or_web(api.handle_http_exception, handle_csrf_error))
    app.register_error_handler(RateLimited, api_or_web(api.handle_rate_limited, handle_rate_limited))
    app.register_error_handler(HashingBusy, api_or_web(api.handle_busy, handle_hashing_busy))
    app.register_error_handler(OperationalError, api_or_web(api.handle_database_error, handle_database_error))
    app.register_error_handler(HTTPException, api_or_web(api.handle_http_exception, handle_http_exception))
    app.register_error_handler(InternalServerError, api_or_web(api.handle_server_error, handle_server_error))
