"""The four meeting documents, as HTML for the browser's print and as PDF (WeasyPrint)."""
from __future__ import annotations

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from participation.documents import services
from participation.documents.attendance import attendance_counts, attendance_list
from participation.intake.services import roster
from participation.models import ScoringMethod, ThemedSession, utcnow
from participation.pdf import render_pdf
from participation.review.ranking import build_ranking

# URL slug -> (file name of `flask print-documents`, template)
DOCUMENTS = {
    "undangan": ("invitations", "documents/invitations.html"),
    "acara": ("agenda", "documents/agenda.html"),
    "daftar-hadir": ("attendance", "documents/attendance.html"),
    "berita-acara": ("minutes", "documents/minutes.html"),
}
TITLES = {"undangan": _l("Invitations"), "acara": _l("Agenda"), "daftar-hadir": _l("Attendance list"),
          "berita-acara": _l("Minutes of the meeting")}
BLANK_ATTENDANCE_ROWS = 15


def context(themed_session: ThemedSession, slug: str) -> dict:
    """What the document named by `slug` shows."""
    common = {"themed_session": themed_session, "printed_at": utcnow()}
    if slug == "undangan":
        invitations = roster(themed_session, walk_ins=False)  # walk-ins came uninvited
        notes = themed_session.invitation_notes or str(services.DEFAULT_INVITATION_NOTES)
        return common | {"invitations": invitations, "notes": notes, "subject": letter_subject(themed_session),
                         "attachments": attachments_text(themed_session.letter_attachments)}
    if slug == "acara":
        ranking = build_ranking(themed_session, stability=False)
        return common | {"slots": services.schedule(themed_session, ranking)}
    if slug == "daftar-hadir":
        return common | {"invitations": attendance_list(themed_session), "blank_rows": BLANK_ATTENDANCE_ROWS,
                         "counts": attendance_counts(themed_session)}
    if slug == "berita-acara":
        return common | minutes_context(themed_session)
    raise KeyError(slug)


def default_subject(themed_session: ThemedSession) -> str:
    """The perihal an invitation carries until the facilitator writes one."""
    return _("Invitation to the %(title)s", title=themed_session.title)


def letter_subject(themed_session: ThemedSession) -> str:
    return themed_session.letter_subject or default_subject(themed_session)


def attachments_text(count: int | None) -> str:
    """The lampiran line: "-" without enclosures, else how many."""
    if not count:
        return "-"
    return ngettext("%(num)d enclosure", "%(num)d enclosures", count)


def minutes_context(themed_session: ThemedSession) -> dict:
    """The final ranking when there is one (the latest snapshot), else the current one, marked draft."""
    from participation.review.conflicts import session_declarations
    from participation.review.agreement import aggregation_of, session_agreement
    from participation.review.services import decision_reasons, official_ranking

    official = official_ranking(themed_session)
    payload, snapshot = official.payload, official.snapshot
    selected = [p for p in payload["proposals"] if p["selected"]]
    # The payload keeps every setting, but a TOPSIS ranking never used the SAW normalisation.
    reasons = decision_reasons(themed_session)
    decided = [p for p in payload["proposals"] if p["decision"] and reasons.get(p["receipt_number"])]
    return {"payload": payload, "snapshot": snapshot, "final": snapshot is not None,
            "reasons": reasons, "decided": decided,
            "uses_normalization": ScoringMethod(payload["method"]).uses_normalization,
            "counts": attendance_counts(themed_session), "conflicts": session_declarations(themed_session)[::-1],  # oldest first
            "aggregation": aggregation_of(payload), "agreement": session_agreement(themed_session).criteria,
            "selected_total": sum(p["estimated_cost"] for p in selected), "selected_count": len(selected)}


def html(themed_session: ThemedSession, slug: str) -> str:
    """The document as a page for the browser's print dialogue (inside a request: it links the logo)."""
    head = services.letterhead()
    return render_template(DOCUMENTS[slug][1], browser=True, letterhead=head, logo_src=logo_url(head),
                           **context(themed_session, slug))


def pdf(themed_session: ThemedSession, slug: str, letterhead=None, *, release_database: bool = False) -> bytes:
    """The document as an A4 PDF with embedded fonts; nothing is fetched from outside, no request needed.

    `release_database` (for a caller that has written nothing) ends the transaction before the slow
    conversion; see `render_pdf`.
    """
    return render_pdf(DOCUMENTS[slug][1], letterhead=letterhead or services.letterhead(),
                      release_database=release_database, **context(themed_session, slug))


def logo_url(head) -> str | None:
    """Where a browser loads the logo: one address, so a 45-letter page holds it once."""
    if not head.logo:
        return None
    return url_for("documents.logo", v=int(head.updated_at.timestamp()) if head.updated_at else 0)
