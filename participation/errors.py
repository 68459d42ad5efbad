"""Error pages that show no internals; the 500 handler rolls the transaction back."""
from __future__ import annotations

from flask import current_app, g, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from participation.extensions import db
from participation.forms import CSRF_FAILED

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


def handle_csrf_error(error: CSRFError):
    """Re-render forms that can keep the typed data; otherwise explain and offer a reload."""
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and getattr(view, "rerender_on_csrf_error", False):
        g.setdefault(CSRF_FAILED, True)
        response = make_response(view(**(request.view_args or {})))
        response.status_code = 400
        return response
    return render_error(400, "csrf")


def handle_server_error(error: Exception):
    """Roll back whatever the request had half-done and show a plain apology."""
    db.session.rollback()
    original = getattr(error, "original_exception", None) or error
    if not isinstance(original, HTTPException):
        current_app.logger.exception("Unhandled error on %s %s", request.method, request.path,
                                     exc_info=original)
    return render_error(500)


def register_error_handlers(app) -> None:
    """Attach the handlers to `app`."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, handle_server_error)
