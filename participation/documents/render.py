"""The four meeting documents, as HTML for the browser's print and as PDF (WeasyPrint)."""
from __future__ import annotations

from flask import render_template

from participation.documents import services
from participation.intake.services import roster
from participation.models import SessionStatus, ThemedSession, utcnow
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
        invitations = roster(themed_session, walk_ins=False)  # walk-ins came uninvited
        notes = themed_session.invitation_notes or services.DEFAULT_INVITATION_NOTES
        return common | {"invitations": invitations, "notes": notes}
    if slug == "acara":
        ranking = build_ranking(themed_session, stability=False)
        return common | {"slots": services.schedule(themed_session, ranking)}
    if slug == "daftar-hadir":
        return common | {"invitations": roster(themed_session), "blank_rows": BLANK_ATTENDANCE_ROWS}
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
