"""Everything held about one user, as `data.zip` (DESIGN §8): data.json, README.txt and the files.

The shape of data.json (version 1; README.md "Personal data" describes it too):

    {"format": "musrenbang-tematik/personal-data", "version": 1, "generated_at": "…Z",
     "account": {id, email, name, role, locale, active, created_at, last_login_at, email_verified_at,
                 phone},
     "business": null | {id, nib, name, owner_name, kbli_codes [..], scale, legal_form, capital,
                         annual_turnover, workforce_men, workforce_women, address, kelurahan,
                         kecamatan, kelurahan_code, phone, certificates {halal, pirt, sni}, created_at,
                         updated_at},
     "identity_changes": [{id, old_nib, old_name, nib, name, reason, status, created_at, decided_at}],
     "invitations": [{session {id, title}, invited_at, walk_in, attended, checked_in_at}],
     "proposals": [{id, session {id, title, status}, receipt_number, title, problem, description,
                    category, estimated_cost, beneficiaries, jobs_created, volume, satuan, kelurahan, kecamatan,
                    source, paper_form_number, status, votes, created_at, updated_at, submitted_at,
                    history [{from, to, at, note, by}], attachment null | {name, type, size,
                    sha256, file}, decision null | {outcome, reason, decided_at},
                    result null | {rank, score, selected, values},
                    follow_up null | {opd_code, opd_name, budget_year, allocated_amount, status, progress,
                                      realised_amount, cancel_reason, updated_at,
                                      updates [{id, dated, status, progress, realised_amount, note,
                                                cancel_reason, created_at, by, photo null | {name,
                                                type, size, sha256, file}}]}}],
     "notifications": [{id, kind, channel, state, created_at, sent_at, read_at, attempts,
                        payload {…what the message said: receipt number, title, session…}}],
     "notification_preferences": [{kind, mode, updated_at}],
     "conflicts_of_interest": [{id, business {id, name}, kind, note, declared_at, declared_by,
                                withdrawn_at, withdrawn_by}],
     "api_tokens": [{id, name, prefix, scopes [..], created_at, expires_at, last_used_at,
                     last_used_ip, revoked_at}],
     "audit_events": [{id, at, action, object_type, object_id, channel, by, ip, before, after}]}

Times are UTC, ISO 8601 with a Z. `by` (and a conflict's `declared_by`, `withdrawn_by`) is "self" (the user), "staff" (someone working on the
session: who is not said) or null (nobody signed in, or a script). An audit entry's `ip` is given
only for the user's own acts. `file` is the attachment's path inside the zip. `result` is the
proposal's line of the official ranking once the session is finalised (as the owner's page shows).
`follow_up` is a funded proposal's progress after the decision, each update with its photo, as the
owner's proposal page shows them.
An API token is listed by its shown prefix, never its secret nor the secret's hash.
Nothing of other people is included: no other business's proposals, no planner's name or
individual ratings, no other account's addresses.

The zip is written to a temporary file, the attachments copied into it piece by piece from the
store, so that a large export never sits in memory.
"""
from __future__ import annotations

import json
import re
import tempfile
import zipfile
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from participation import storage
from participation.extensions import db
from participation.models import (
    ApiToken,
    AuditEvent,
    Business,
    Decision,
    FollowUp,
    FollowUpUpdate,
    IdentityChange,
    Invitation,
    Notification,
    NotificationPreference,
    Proposal,
    StoredFile,
    User,
    utcnow,
)

FORMAT = "musrenbang-tematik/personal-data"
VERSION = 1
README = """Data pribadi Anda / Your personal data — Musrenbang Tematik
=====================================================================

data.json   semua data yang disimpan tentang akun Anda (profil, usaha, usulan, undangan,
            notifikasi, catatan audit tentang Anda); waktu dalam UTC.
            everything held about your account (profile, business, proposals, invitations,
            notifications, audit entries about you); times in UTC.
lampiran/   berkas yang Anda lampirkan pada usulan / the files attached to your proposals.
tindak-lanjut/  foto kabar tindak lanjut usulan Anda yang didanai /
            the photos of the follow-up updates of your funded proposals.

Format: "{format}", versi/version {version}. Kolom "by" pada catatan audit: "self" = Anda,
"staff" = petugas sesi (namanya tidak disertakan), null = tanpa akun / without an account.
"""


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _code(value):
    return None if value is None else getattr(value, "value", value)


def _safe_name(name: str | None) -> str:
    """A file name that stays inside its folder of the zip."""
    name = re.sub(r"[\x00-\x1f\x7f/\\:]", "_", name or "lampiran").strip(" .")
    return name[:120] or "lampiran"


def personal_data(user: User) -> tuple[dict, list[tuple[str, StoredFile]]]:
    """The document for data.json, and the files to put beside it as (path in the zip, file)."""
    business: Business | None = user.business
    files: list[tuple[str, StoredFile]] = []
    proposals = []
    if business is not None:
        for proposal in _proposals(business):
            item = _proposal(proposal, user)
            if proposal.attachment_file is not None:
                path = f"lampiran/{proposal.id}-{_safe_name(proposal.attachment_name)}"
                item["attachment"] = {"name": proposal.attachment_name, "type": proposal.attachment_type,
                                      "size": proposal.attachment_size,
                                      "sha256": proposal.attachment_file.sha256, "file": path}
                files.append((path, proposal.attachment_file))
            item["follow_up"] = _follow_up(proposal, user, files)
            proposals.append(item)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": _time(utcnow()),
        "account": {"id": user.id, "email": user.email, "name": user.name, "role": user.role.value,
                    "locale": user.locale, "active": user.active, "created_at": _time(user.created_at),
                    "last_login_at": _time(user.last_login_at),
                    "email_verified_at": _time(user.email_verified_at), "phone": user.phone},
        "business": _business(business) if business is not None else None,
        "identity_changes": _identity_changes(business) if business is not None else [],
        "invitations": _invitations(business) if business is not None else [],
        "proposals": proposals,
        "notifications": _notifications(user),
        "notification_preferences": _preferences(user),
        "conflicts_of_interest": _conflicts(user),
        "api_tokens": _api_tokens(user),
        "audit_events": _audit_events(user, business, [item["id"] for item in proposals]),
    }
    return document, files


def _notifications(user: User) -> list[dict]:
    """Every message written for the user, by email and in the app, oldest first."""
    rows = db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id))
    return [{"id": row.id, "kind": row.kind, "channel": row.channel.value, "state": row.state.value,
             "created_at": _time(row.created_at), "sent_at": _time(row.sent_at), "read_at": _time(row.read_at),
             "attempts": row.attempts, "payload": row.payload} for row in rows]


def _preferences(user: User) -> list[dict]:
    """How the user chose to get each kind of message (kinds left at their default have no row)."""
    rows = db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id)
                              .order_by(NotificationPreference.kind))
    return [{"kind": row.kind, "mode": row.mode.value, "updated_at": _time(row.updated_at)} for row in rows]


def _conflicts(user: User) -> list[dict]:
    """The staff member's own declarations of conflicts of interest, active and withdrawn, oldest first."""
    from participation.review.conflicts import declarations_of

    return [{"id": conflict.id, "business": {"id": conflict.business_id, "name": conflict.business.name},
             "kind": conflict.kind.value, "note": conflict.note, "declared_at": _time(conflict.declared_at),
             "declared_by": _by(conflict.declared_by_id, user), "withdrawn_at": _time(conflict.withdrawn_at),
             "withdrawn_by": _by(conflict.withdrawn_by_id, user)}
            for conflict in declarations_of(user)]


def _api_tokens(user: User) -> list[dict]:
    """The user's personal access tokens, oldest first: what the account page lists, no hash."""
    rows = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    return [{"id": row.id, "name": row.name, "prefix": row.prefix, "scopes": row.scopes.split(),
             "created_at": _time(row.created_at), "expires_at": _time(row.expires_at),
             "last_used_at": _time(row.last_used_at), "last_used_ip": row.last_used_ip,
             "revoked_at": _time(row.revoked_at)} for row in rows]


def _business(business: Business) -> dict:
    return {
        "id": business.id, "nib": business.nib, "name": business.name, "owner_name": business.owner_name,
        "kbli_codes": business.kbli_list, "scale": _code(business.scale), "legal_form": _code(business.legal_form),
        "capital": business.capital, "annual_turnover": business.annual_turnover,
        "workforce_men": business.workforce_men, "workforce_women": business.workforce_women,
        "address": business.address, "kelurahan": business.kelurahan, "kecamatan": business.kecamatan,
        "kelurahan_code": business.kelurahan_code,
        "phone": business.phone,
        "certificates": {"halal": business.cert_halal, "pirt": business.cert_pirt, "sni": business.cert_sni},
        "created_at": _time(business.created_at), "updated_at": _time(business.updated_at),
    }


def _identity_changes(business: Business) -> list[dict]:
    changes = db.session.scalars(select(IdentityChange).where(IdentityChange.business_id == business.id)
                                 .order_by(IdentityChange.id))
    return [{"id": change.id, "old_nib": change.old_nib, "old_name": change.old_name, "nib": change.nib,
             "name": change.name, "reason": _code(change.reason), "status": _code(change.status),
             "created_at": _time(change.created_at), "decided_at": _time(change.decided_at)}
            for change in changes]


def _invitations(business: Business) -> list[dict]:
    invitations = db.session.scalars(select(Invitation).where(Invitation.business_id == business.id)
                                     .options(selectinload(Invitation.themed_session)).order_by(Invitation.id))
    return [{"session": {"id": invitation.session_id, "title": invitation.themed_session.title},
             "invited_at": _time(invitation.invited_at), "walk_in": invitation.walk_in,
             "attended": invitation.attended, "checked_in_at": _time(invitation.checked_in_at)}
            for invitation in invitations]


def _proposals(business: Business) -> list[Proposal]:
    return list(db.session.scalars(
        select(Proposal).where(Proposal.business_id == business.id)
        .options(selectinload(Proposal.history), selectinload(Proposal.themed_session),
                 selectinload(Proposal.category), selectinload(Proposal.attachment_file))
        .order_by(Proposal.id)))


def _by(actor_id: int | None, user: User) -> str | None:
    if actor_id is None:
        return None
    return "self" if actor_id == user.id else "staff"


def _proposal(proposal: Proposal, user: User) -> dict:
    from participation.review.services import official_ranking

    themed_session = proposal.themed_session
    decision = db.session.scalar(select(Decision).where(Decision.proposal_id == proposal.id))
    result = None
    if themed_session.is_published and proposal.receipt_number:
        line = official_ranking(themed_session).line_of(proposal.receipt_number)
        if line is not None:
            result = {key: line.get(key) for key in ("rank", "score", "selected", "values")}
    return {
        "id": proposal.id,
        "session": {"id": themed_session.id, "title": themed_session.title, "status": themed_session.status.value},
        "receipt_number": proposal.receipt_number, "title": proposal.title, "problem": proposal.problem,
        "description": proposal.description, "category": proposal.category.name if proposal.category else None,
        "estimated_cost": proposal.estimated_cost, "beneficiaries": proposal.beneficiaries,
        "jobs_created": proposal.jobs_created, "volume": proposal.volume, "satuan": proposal.satuan,
        "kelurahan": proposal.kelurahan, "kecamatan": proposal.kecamatan,
        "source": _code(proposal.source), "paper_form_number": proposal.paper_form_number,
        "status": _code(proposal.status), "votes": proposal.votes,
        "created_at": _time(proposal.created_at), "updated_at": _time(proposal.updated_at),
        "submitted_at": _time(proposal.submitted_at),
        "history": [{"from": _code(change.from_status), "to": _code(change.to_status),
                     "at": _time(change.created_at), "note": change.note, "by": _by(change.actor_id, user)}
                    for change in proposal.history],
        "attachment": None,
        "decision": None if decision is None else {"outcome": _code(decision.outcome), "reason": decision.reason,
                                                   "decided_at": _time(decision.decided_at)},
        "result": result,
    }


def _follow_up(proposal: Proposal, user: User, files: list[tuple[str, StoredFile]]) -> dict | None:
    """A funded proposal's follow-up and its updates; the updates' photos join `files`."""
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.proposal_id == proposal.id)
                                  .options(selectinload(FollowUp.updates).selectinload(FollowUpUpdate.photo_file)))
    if follow_up is None:
        return None
    updates = []
    for update in follow_up.updates:
        photo = None
        if update.photo_file is not None:
            path = f"tindak-lanjut/{update.id}-{_safe_name(update.photo_name)}"
            photo = {"name": update.photo_name, "type": update.photo_type, "size": update.photo_size,
                     "sha256": update.photo_file.sha256, "file": path}
            files.append((path, update.photo_file))
        updates.append({"id": update.id, "dated": update.dated.isoformat(), "status": _code(update.status),
                        "progress": update.progress, "realised_amount": update.realised_amount,
                        "note": update.note, "cancel_reason": update.cancel_reason,
                        "created_at": _time(update.created_at), "by": _by(update.author_id, user), "photo": photo})
    return {"opd_code": follow_up.opd_code, "opd_name": follow_up.opd_name, "budget_year": follow_up.budget_year,
            "allocated_amount": follow_up.allocated_amount, "status": _code(follow_up.status),
            "progress": follow_up.progress, "realised_amount": follow_up.realised_amount,
            "cancel_reason": follow_up.cancel_reason, "updated_at": _time(follow_up.updated_at), "updates": updates}


def _audit_events(user: User, business: Business | None, proposal_ids: list[int]) -> list[dict]:
    """Entries where the user acted, or whose object is their account, business or proposals."""
    subjects = [and_(AuditEvent.object_type == "User", AuditEvent.object_id == str(user.id))]
    if business is not None:
        subjects.append(and_(AuditEvent.object_type == "Business", AuditEvent.object_id == str(business.id)))
    if proposal_ids:
        subjects.append(and_(AuditEvent.object_type == "Proposal",
                             AuditEvent.object_id.in_([str(pid) for pid in proposal_ids])))
    events = db.session.scalars(select(AuditEvent).where(or_(AuditEvent.actor_id == user.id, *subjects))
                                .order_by(AuditEvent.id))
    return [{"id": event.id, "at": _time(event.created_at), "action": event.action,
             "object_type": event.object_type, "object_id": event.object_id, "channel": event.channel,
             "by": _by(event.actor_id, user), "ip": event.ip if event.actor_id == user.id else None,
             "before": event.before, "after": event.after}
            for event in events]


def build_zip(user: User):
    """data.zip for `user` in a temporary file, positioned at its start.

    The caller sends it and closes it (the file disappears when closed). Nothing is recorded:
    `GET /akun/data.zip` (DESIGN §8) reads only, and GET requests run read-only transactions.
    """
    document, files = personal_data(user)
    output = tempfile.TemporaryFile()  # noqa: SIM115 (send_file closes it after the response)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(format=FORMAT, version=VERSION))
        archive.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=2))
        for path, stored in files:
            info = zipfile.ZipInfo(path, date_time=stored.created_at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED  # PDF, JPEG and PNG are compressed already
            with archive.open(info, "w", force_zip64=stored.size > 2**31) as target:
                for piece in storage.read_chunks(stored):
                    target.write(piece)
    output.seek(0)
    return output
