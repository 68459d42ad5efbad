"""The public reads of /api/v1: what the public pages show to anyone (DESIGN §9)."""
from __future__ import annotations

import hashlib
import json

import marshmallow as ma
from flask import make_response, request
from flask_smorest import abort
from sqlalchemy import select

from participation.api import RATE_LIMITED
from participation.api.blueprint import bp
from participation.api.pagination import PageArgsSchema, page_schema, paginate
from participation.api.schemas import (
    PUBLIC_STATUSES,
    ResultsSchema,
    SessionDetailSchema,
    SessionFollowUpSchema,
    SessionSchema,
)
from participation.extensions import db
from participation.models import Proposal, SessionStatus, ThemedSession

ETAG_HEADERS = {"ETag": {"description": "Strong validator of this snapshot's figures",
                         "schema": {"type": "string"}}}
IF_NONE_MATCH = {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
                 "description": "An ETag from an earlier answer: 304 when the results have not changed"}


def public_session_or_404(session_id: int, statuses=PUBLIC_STATUSES) -> ThemedSession:
    """The session if the public may see it in `statuses`; a draft or archived one is not found."""
    themed_session = db.session.get(ThemedSession, session_id)
    if themed_session is None or themed_session.status not in statuses:
        abort(404)
    return themed_session


@bp.get("/sessions")
@bp.arguments(PageArgsSchema, location="query", as_kwargs=True, unknown=ma.RAISE)
@bp.response(200, page_schema(SessionSchema), headers={"Link": {
    "description": "RFC 8288 links to the first, previous, next and last pages", "schema": {"type": "string"}}})
@bp.alt_response(401, response="UNAUTHORIZED", description="A token was sent and is unknown, revoked or expired")
@bp.alt_response(429, response=RATE_LIMITED)
def list_sessions(page: int, per_page: int):
    """Sessions that are open, under review or finalised, by id.

    Never a draft or an archived session.
    """
    statement = select(ThemedSession).where(ThemedSession.status.in_(PUBLIC_STATUSES))
    body, headers = paginate(statement, ThemedSession.id, page, per_page)
    return body, 200, headers


@bp.get("/sessions/<int:session_id>")
@bp.response(200, SessionDetailSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(401, response="UNAUTHORIZED", description="A token was sent and is unknown, revoked or expired")
@bp.alt_response(429, response=RATE_LIMITED)
def get_session(session_id: int):
    """One open, in-review or finalised session, with its categories and criteria.

    Criteria weights are normalised to sum 1, as the ranking and the export use them.
    """
    return public_session_or_404(session_id)


@bp.get("/sessions/<int:session_id>/results")
@bp.doc(parameters=[IF_NONE_MATCH])
@bp.response(200, ResultsSchema, headers=ETAG_HEADERS)
@bp.alt_response(304, description="Not modified: the results are those of the ETag sent", headers=ETAG_HEADERS)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(401, response="UNAUTHORIZED", description="A token was sent and is unknown, revoked or expired")
@bp.alt_response(429, response=RATE_LIMITED)
def get_results(session_id: int):
    """The final ranking of a finalised session: its latest snapshot, the figures of `flask export-ranking`.

    Any other session is not found (404). Proposals keep the snapshot's order: by rank, the
    unranked ones last.
    """
    from participation.review.services import decision_reasons, official_ranking

    themed_session = public_session_or_404(session_id, (SessionStatus.FINALIZED,))
    ranking = official_ranking(themed_session)
    if ranking.snapshot is None:
        abort(404)
    body = results_body(themed_session, ranking.payload, ranking.snapshot.version, decision_reasons(themed_session))
    etag = results_etag(ranking.snapshot.id, body)
    if request.if_none_match.contains_weak(etag):
        response = make_response("", 304)
        response.set_etag(etag)
        return response
    return body, 200, {"ETag": f'"{etag}"'}


@bp.get("/sessions/<int:session_id>/follow-up")
@bp.response(200, SessionFollowUpSchema)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(401, response="UNAUTHORIZED", description="A token was sent and is unknown, revoked or expired")
@bp.alt_response(429, response=RATE_LIMITED)
def get_follow_up(session_id: int):
    """The follow-up of a finalised session's funded proposals: status, physical progress, realised
    budget and dated updates, with the summary of the public results page (the same figures).

    Any other session is not found (404). Follow-ups are ordered by receipt number, their updates
    by date, then by when they were entered.
    """
    from participation.followup.progress import follow_up_payload, session_progress, summary_payload

    themed_session = public_session_or_404(session_id, (SessionStatus.FINALIZED,))
    progress = session_progress(themed_session)
    return {"session": {"id": themed_session.id, "title": themed_session.title, "status": themed_session.status.value,
                        "budget_ceiling": themed_session.budget_ceiling},
            "summary": summary_payload(progress.summary),
            "follow_ups": [follow_up_payload(follow_up) for follow_up in progress.follow_ups.values()]}


def results_body(themed_session: ThemedSession, payload: dict, version: int, reasons: dict[str, str]) -> dict:
    """The snapshot's payload with places and reasons (`with_places`) and its version."""
    return {**with_places(themed_session, payload, reasons), "snapshot_version": version}


def with_places(themed_session: ThemedSession, payload: dict, reasons: dict[str, str]) -> dict:
    """The export payload with each proposal's kecamatan and its decision's reason (no NIB, phone or file)."""
    kecamatan = dict(db.session.execute(select(Proposal.receipt_number, Proposal.kecamatan)
                                        .where(Proposal.session_id == themed_session.id)).all())
    lines = [{**line, "kecamatan": kecamatan.get(line["receipt_number"], ""),
              "reason": reasons.get(line["receipt_number"]) if line["decision"] else None}
             for line in payload["proposals"]]
    return {**payload, "proposals": lines}


def results_etag(snapshot_id: int, body: dict) -> str:
    """Strong: the snapshot's id and a hash of exactly the figures sent."""
    content = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()
    return f"s{snapshot_id}-{hashlib.sha256(content).hexdigest()[:32]}"
