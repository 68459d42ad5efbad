"""The OpenAPI document of /api/v1 and its reference page (Swagger UI, vendored, no inline script)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from participation.api.blueprint import API_PREFIX

bp = Blueprint("api_reference", __name__, url_prefix=API_PREFIX)

SWAGGER_UI = "vendor/swagger-ui-dist-5.35.0"


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 document, generated from the API's views and schemas."""
    return jsonify(current_app.extensions["participation_api"].spec.to_dict())


@bp.get("/docs")
def docs():
    """A readable reference of every operation, drawn in the browser from openapi.json."""
    return render_template("api/docs.html", swagger_ui=SWAGGER_UI)
