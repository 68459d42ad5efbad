"""`GET /healthz` for the load balancer: can this worker reach its database? (DESIGN §8)"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from participation.extensions import db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    """200 `{"status": "ok"}` when `SELECT 1` succeeds, 503 `{"status": "unavailable"}` otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        # OperationalError (refused, timed out, file missing) and every other DBAPIError alike:
        # the worker cannot serve pages, so the balancer should send requests elsewhere.
        db.session.rollback()
        current_app.logger.warning("Health check failed: %s", getattr(error, "orig", None) or error)
        response = jsonify(status="unavailable")
        response.status_code = 503
    else:
        response = jsonify(status="ok")
    # A cached "ok" would hide an outage from whoever asks next.
    response.headers["Cache-Control"] = "no-store"
    return response
