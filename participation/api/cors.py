"""Cross-origin reads of /api/v1, off unless API_CORS_ORIGINS names the allowed origins."""
from __future__ import annotations

from flask import current_app, request

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-None-Match"
EXPOSED_HEADERS = "ETag, Link, Retry-After"
PREFLIGHT_MAX_AGE = "600"


def allowed_origins() -> set[str]:
    """The configured origins, such as {"https://data.example.go.id"} (empty: CORS is off)."""
    setting = current_app.config.get("API_CORS_ORIGINS") or ""
    return {origin.strip().rstrip("/") for origin in setting.split(",") if origin.strip()}


def add_cors_headers(response):
    """Allow the request's Origin when it is configured; answer a preflight's questions.

    No Access-Control-Allow-Credentials: the API takes no cookies, a token goes in a header.
    """
    origin = request.headers.get("Origin")
    if not origin or origin not in allowed_origins():
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.vary.add("Origin")
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response
