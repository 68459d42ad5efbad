"""One error shape for every 4xx and 5xx under /api/v1 (DESIGN §9).

`{"error": {"code": "not_found", "message": "...", "fields": {"per_page": ["..."]}}}`: `code` and
`message` are always there, `fields` only for a validation error, naming each refused field.
"""
from __future__ import annotations

import marshmallow as ma
from flask import current_app, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from participation.extensions import db

# status -> machine-readable code; a status not listed is answered as "http_<status>".
CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "rate_limited", 500: "server_error", 503: "unavailable",
}


def messages() -> dict[int, str]:
    """The human-readable message of each status, in the request's language."""
    return {
        400: _("The request could not be understood."),
        401: _("The access token is missing, invalid, expired or revoked."),
        403: _("This token may not do that."),
        404: _("There is nothing at this address, or it is not available to you."),
        405: _("This address does not accept that method."),
        413: _("The request is larger than allowed."),
        422: _("Some fields are invalid."),
        429: _("Too many requests. Wait and try again."),
        500: _("An unexpected error occurred and nothing was saved."),
        503: _("The service is busy. Wait a few seconds and try again."),
    }


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Machine-readable, e.g. `not_found`"})
    message = ma.fields.String(required=True, metadata={"description": "For people, in Indonesian by default"})
    fields = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
                            metadata={"description": "Validation errors by field name (422 only)"})


class ErrorSchema(ma.Schema):
    """Every 4xx and 5xx answer of the API."""

    error = ma.fields.Nested(ErrorBodySchema, required=True)


def error_response(status: int, *, code: str | None = None, message: str | None = None,
                   fields: dict | None = None, headers: dict | None = None):
    """The JSON error answer with `status`."""
    body = {"code": code or CODES.get(status, f"http_{status}"),
            "message": message or messages().get(status) or _("The request could not be completed.")}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_fields(messages_by_location: dict) -> dict[str, list[str]]:
    """webargs' {"query": {"per_page": ["..."]}} as {"per_page": ["..."]}; nested names joined by dots."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
            flat.setdefault(prefix or "_schema", []).extend(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(prefix, item)
        else:
            flat.setdefault(prefix or "_schema", []).append(str(value))

    for location_messages in (messages_by_location or {}).values():
        walk("", location_messages)
    return flat


def handle_http_exception(error: HTTPException):
    """An HTTP error under /api/v1 (unknown path, wrong method, validation, abort) in the error shape."""
    status = error.code or 500
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if status == 429 and getattr(error, "retry_after", None):
        headers["Retry-After"] = str(error.retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    data = getattr(error, "data", None) or {}
    headers.update(data.get("headers") or {})
    if status >= 500:
        db.session.rollback()
    if status == 422 and "messages" in data:
        return error_response(422, fields=flatten_fields(data["messages"]), headers=headers)
    return error_response(status, message=data.get("message"), headers=headers)


def handle_rate_limited(error):
    """An abuse limit (participation/limits.py) refused the request: 429 with Retry-After."""
    from participation.errors import retry_after_header

    db.session.rollback()
    return error_response(429, headers={"Retry-After": retry_after_header(error.retry_after)})


def handle_server_error(error: Exception):
    """Roll back what the request half-did; say nothing of the exception itself."""
    db.session.rollback()
    original = getattr(error, "original_exception", None) or error
    if not isinstance(original, HTTPException):
        current_app.logger.exception("Unhandled error on %s %s", request.method, request.path,
                                     exc_info=original)
    return error_response(500)


def handle_busy(error):
    """A busy database or password hasher: 503 with Retry-After, in the error shape."""
    db.session.rollback()
    return error_response(503, headers={"Retry-After": str(getattr(error, "retry_after", 5))})


def handle_database_error(error):
    """SQLite's write lock stayed taken: 503 with Retry-After; any other database error is a 500."""
    from participation.errors import DATABASE_BUSY_RETRY_SECONDS

    if "database is locked" not in str(getattr(error, "orig", error)):
        return handle_server_error(error)
    db.session.rollback()
    return error_response(503, headers={"Retry-After": str(DATABASE_BUSY_RETRY_SECONDS)})
