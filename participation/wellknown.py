"""`/.well-known/security.txt` (RFC 9116): where to report a vulnerability in this deployment."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, current_app

from participation.config import security_contacts

bp = Blueprint("wellknown", __name__)

SECURITY_TXT_PATH = "/.well-known/security.txt"


@bp.route(SECURITY_TXT_PATH)
def security_txt():
    """Contact, Expires (SECURITY_TXT_LIFETIME from now), Preferred-Languages and, with
    PUBLIC_BASE_URL, Canonical; 404 while no contact is configured (RFC 9116 requires one)."""
    config = current_app.config
    contacts = security_contacts(config)
    if not contacts:
        abort(404)
    # Whole seconds in UTC with a Z, the Internet date/time format (RFC 3339) the RFC asks for.
    expires = (datetime.now(UTC) + config["SECURITY_TXT_LIFETIME"]).replace(microsecond=0)
    lines = [f"Contact: {contact}" for contact in contacts]
    lines.append(f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    lines.append("Preferred-Languages: " + ", ".join(config["LANGUAGES"]))
    if config.get("PUBLIC_BASE_URL"):
        lines.append(f"Canonical: {config['PUBLIC_BASE_URL'].rstrip('/')}{SECURITY_TXT_PATH}")
    return Response("\n".join(lines) + "\n", mimetype="text/plain")
