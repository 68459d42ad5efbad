"""The token paths of /api/v1: staff read their sessions' proposals, owners read and write their own.

Each view asks the model the question the web's page asks, with the token's user: a session the
user does not work on, or a proposal they may not see, is a 404 exactly as on the web. A new
proposal goes through the web form's checks and `proposals.services.create_proposal`, so the API
holds no rule of its own and answers with the form's messages, by field.
"""
from __future__ import annotations

import hashlib
import re

import marshmallow as ma
from flask import request, url_for
from flask_babel import gettext as _
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from participation.api import RATE_LIMITED
from participation.api.auth import SECURITY, current_api_user, token_required
from participation.api.blueprint import bp
from participation.api.errors import error_response
from participation.api.pagination import PageArgsSchema, page_schema, paginate
from participation.api.proposal_schemas import NewProposalSchema, ProposalSchema
from participation.api.schemas import RankingSchema
from participation.extensions import db
from participation.models import Proposal, ProposalStatus, Role, ThemedSession, TokenScope
from participation.proposals import services
from participation.proposals.forms import ProposalForm
from participation.proposals.messages import error_text, mark_missing
from participation.proposals.routes import located
from participation.security import client_ip

IDEMPOTENCY_KEY = {"in": "header", "name": "Idempotency-Key", "required": False,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^[\x21-\x7e]+$"},
                   "description": "Any text of 1 to 200 visible ASCII characters, new for each proposal: sending "
                                  "the same key again answers with the proposal the first request made (200) "
                                  "instead of making another"}
KEY_SHAPE = re.compile(r"[\x21-\x7e]{1,200}")
LOCATION = {"Location": {"description": "The proposal's address", "schema": {"type": "string"}}}
# Refusals of the proposal rules that are about the state of things, not about what was sent.
CONFLICTS = {"closed", "limit", "draft_limit", "unverified", "not_invited"}


def api_actor():
    from participation.events import Actor, Channel

    return Actor(user=current_api_user(), ip=client_ip(), channel=Channel.API)


@bp.get("/sessions/<int:session_id>/proposals")
@token_required(TokenScope.READ)
@bp.doc(security=SECURITY)
@bp.arguments(PageArgsSchema, location="query", as_kwargs=True, unknown=ma.RAISE)
@bp.response(200, page_schema(ProposalSchema))
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(429, response=RATE_LIMITED)
def session_proposals(session_id: int, page: int, per_page: int):
    """Every proposal of a session the token's user works on (its planners and facilitators, admins), by id.

    Drafts, submitted and withdrawn proposals alike, with their fields; never an attachment's
    content. A session the user does not work on is not found (404), as on the web.
    """
    themed_session = db.session.get(ThemedSession, session_id)
    if themed_session is None or not themed_session.can_facilitate(current_api_user()):
        abort(404)
    statement = select(Proposal).where(Proposal.session_id == themed_session.id)
    body, headers = paginate(statement, Proposal.id, page, per_page)
    return body, 200, headers


@bp.get("/sessions/<int:session_id>/ranking")
@token_required(TokenScope.READ)
@bp.doc(security=SECURITY)
@bp.response(200, RankingSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(429, response=RATE_LIMITED)
def session_ranking(session_id: int):
    """The ranked list of a session the token's user works on, as `flask export-ranking` gives it.

    Live while the session is open or under review (the saved weights, the planners' ratings so
    far, the selection under the ceiling and the planners' constraints); the final snapshot once
    finalised. Proposals by rank, those not ranked yet last. A session the user does not work on
    is not found (404), as on the web.
    """
    from participation.api.public import with_places
    from participation.review.exports import current_payload
    from participation.review.services import decision_reasons

    themed_session = db.session.get(ThemedSession, session_id)
    if themed_session is None or not themed_session.can_facilitate(current_api_user()):
        abort(404)
    return with_places(themed_session, current_payload(themed_session), decision_reasons(themed_session))


@bp.get("/me/proposals")
@token_required(TokenScope.READ)
@bp.doc(security=SECURITY)
@bp.arguments(PageArgsSchema, location="query", as_kwargs=True, unknown=ma.RAISE)
@bp.response(200, page_schema(ProposalSchema))
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(429, response=RATE_LIMITED)
def my_proposals(page: int, per_page: int):
    """The proposals of the token's user's business, in every session, by id (none for staff)."""
    user = current_api_user()
    business_id = user.business.id if user.role is Role.PROPONENT and user.business is not None else None
    statement = select(Proposal).where(Proposal.business_id == business_id)
    body, headers = paginate(statement, Proposal.id, page, per_page)
    return body, 200, headers


@bp.get("/proposals/<int:proposal_id>")
@token_required(TokenScope.READ)
@bp.doc(security=SECURITY)
@bp.response(200, ProposalSchema)
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(429, response=RATE_LIMITED)
def get_proposal(proposal_id: int):
    """One proposal, for its owner or the staff of its session; anyone else's is not found (404)."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or not proposal.can_view(current_api_user()):
        abort(404)
    return proposal


def stored_key(header: str | None) -> str | None:
    """The Idempotency-Key as kept on the proposal: the user's own, never colliding with another's."""
    if header is None:
        return None
    if not KEY_SHAPE.fullmatch(header):
        abort(422, messages={"header": {"Idempotency-Key": [_("Use 1 to 200 visible ASCII characters.")]}})
    return hashlib.sha256(f"api\0{current_api_user().id}\0{header}".encode()).hexdigest()


def replay(proposal: Proposal):
    return proposal, 200, {"Location": url_for("api.get_proposal", proposal_id=proposal.id)}


def form_for(themed_session: ThemedSession, data: dict) -> ProposalForm:
    """The web form filled in from the JSON body (numbers as the digits a person would type).

    A JSON number with decimals is written with a decimal comma, as the form reads it: 1.555
    must not become "1.555", which the form reads as one thousand five hundred and fifty-five.
    """
    fields = {name: str(value).replace(".", ",") if isinstance(value, float) else str(value)
              for name, value in data.items() if value is not None and name != "status"}
    return ProposalForm(formdata=MultiDict(fields), meta={"csrf": False}, themed_session=themed_session)


def form_errors(form: ProposalForm) -> dict[str, list[str]]:
    return {field.name: [str(message) for message in field.errors] for field in form if field.errors}


@bp.post("/sessions/<int:session_id>/proposals")
@token_required(TokenScope.WRITE)
@bp.doc(security=SECURITY, parameters=[IDEMPOTENCY_KEY])
@bp.arguments(NewProposalSchema, location="json")
@bp.response(201, ProposalSchema, headers=LOCATION)
@bp.alt_response(200, schema=ProposalSchema, headers=LOCATION,
                 description="The proposal an earlier request with the same Idempotency-Key made")
@bp.alt_response(401, response="UNAUTHORIZED")
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@bp.alt_response(429, response=RATE_LIMITED)
def create_proposal(data: dict, session_id: int):
    """A new proposal of the token's user's business in an open session: a draft, or submitted at once.

    The same checks and messages as the web form: 422 names each refused field. A session the
    owner may not take part in is not found (404); 409 when a rule of the session refuses it now
    (the window is closed, a limit is reached, the address is not confirmed yet).
    """
    user = current_api_user()
    themed_session = db.session.get(ThemedSession, session_id)
    if themed_session is None or not themed_session.can_take_part(user):
        abort(404)
    business = user.business
    key = stored_key(request.headers.get("Idempotency-Key"))
    earlier = services.find_by_idempotency_key(key)
    if earlier is not None:
        return replay(earlier)
    if business is None:
        return error_response(409, code="no_business",
                              message=_("Fill in your business profile before writing a proposal."))
    submit = data["status"] == ProposalStatus.SUBMITTED.value
    form = form_for(themed_session, data)
    if not form.validate():
        if submit:
            form.mark_unfilled(skip=located(business))
        return error_response(422, fields=form_errors(form))
    try:
        proposal = services.create_proposal(themed_session, business, form.proposal_data(), api_actor(),
                                            submit=submit, idempotency_key=key)
        db.session.commit()
    except services.ProposalError as error:
        db.session.rollback()
        return refusal(form, error)
    except IntegrityError:
        db.session.rollback()
        earlier = services.find_by_idempotency_key(key)
        if earlier is None:
            raise
        return replay(earlier)
    return proposal, 201, {"Location": url_for("api.get_proposal", proposal_id=proposal.id)}


def refusal(form: ProposalForm, error: services.ProposalError):
    """A rule of the proposal services refused it: 422 by field when incomplete, else 409 with its message."""
    if error.code == "incomplete":
        mark_missing(form, error.details["fields"])
        return error_response(422, message=error_text(error), fields=form_errors(form))
    status = 409 if error.code in CONFLICTS else 422
    return error_response(status, code=f"proposal_{error.code}", message=error_text(error))
