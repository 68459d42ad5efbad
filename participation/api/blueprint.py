"""The one blueprint of /api/v1 that every API view module adds its operations to."""
from __future__ import annotations

from flask_smorest import Blueprint

API_PREFIX = "/api/v1"

bp = Blueprint("api", __name__, url_prefix=API_PREFIX, description="Musrenbang Tematik API, version 1")


def is_api_path(path: str) -> bool:
    """Whether `path` lies under /api/v1 (the API's own rules apply there, even to unknown paths)."""
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


@bp.before_request
def authenticate():
    """Every API request is counted and names its caller from the Authorization header alone (never a cookie)."""
    from participation.api.auth import identify_caller

    identify_caller()
