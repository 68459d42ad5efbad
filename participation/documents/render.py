"""The four meeting documents, as HTML for the browser's print and as PDF (WeasyPrint)."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from participation.documents import services
from participation.extensions import db
from participation.models import Business, Invitation, SessionStatus, ThemedSession, utcnow
from participation.pdf import render_pdf
from participation.review.ranking import build_ranking, export_payload

# URL slug -> (file name of `flask print-documents`, template)
DOCUMENTS = {
    "undangan": ("invitations", "documents/invitations.html"),
    "acara": ("agenda", "documents/agenda.html"),
    "daftar-hadir": ("attendance", "documents/attendance.html"),
    "berita-acara": ("minutes", "documents/minutes.html"),
}
BLANK_ATTENDANCE_ROWS = 15


def context(themed_session: ThemedSession, slug: str) -> dict:
    """What the document named by `slug` shows."""
    common = {"themed_session": themed_session, "printed_at": utcnow()}
    if slug == "undangan":
        invitations = db.session.scalars(
            select(Invitation).where(Invitation.session_id == themed_session.id, Invitation.walk_in.is_(False))
            .options(selectinload(Invitation.business)).join(Invitation.business)
            .order_by(Business.name, Invitation.id)).all()
        notes = themed_session.invitation_notes or services.DEFAULT_INVITATION_NOTES
        return common | {"invitations": invitations, "notes": notes}
    if slug == "acara":
        ranking = build_ranking(themed_session, stability=False)
        return common | {"slots": services.schedule(themed_session, ranking)}
    if slug == "daftar-hadir":
        return common | {"invitations": services.roster(themed_session), "blank_rows": BLANK_ATTENDANCE_ROWS}
    if slug == "berita-acara":
        return common | minutes_context(themed_session)
    raise KeyError(slug)


def minutes_context(themed_session: ThemedSession) -> dict:
    """The final ranking when there is one (the latest snapshot), else the current one, marked draft."""
    from participation.review.services import latest_snapshot

    snapshot = None
    if themed_session.status in (SessionStatus.FINALIZED, SessionStatus.ARCHIVED):
        snapshot = latest_snapshot(themed_session)
    payload = snapshot.payload["export"] if snapshot else export_payload(build_ranking(themed_session, stability=False))
    selected = [p for p in payload["proposals"] if p["selected"]]
    return {"payload": payload, "snapshot": snapshot, "final": snapshot is not None,
            "counts": services.attendance_counts(themed_session),
            "selected_total": sum(p["estimated_cost"] for p in selected), "selected_count": len(selected)}


def html(themed_session: ThemedSession, slug: str) -> str:
    """The document as a page for the browser's print dialogue."""
    return render_template(DOCUMENTS[slug][1], browser=True, **context(themed_session, slug))


def pdf(themed_session: ThemedSession, slug: str) -> bytes:
    """The document as an A4 PDF with embedded fonts; nothing is fetched from outside."""
    return render_pdf(DOCUMENTS[slug][1], browser=False, **context(themed_session, slug))
