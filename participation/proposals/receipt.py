"""The receipt (tanda terima) of a submitted proposal, as a page to print and as a PDF (WeasyPrint)."""
from __future__ import annotations

import base64

from flask import render_template

from participation.models import Proposal, utcnow
from participation.pdf import render_pdf

TEMPLATE = "proposals/receipt.html"


def _letterhead():
    # The letterhead is the meeting documents' (one per installation); read, never changed here.
    from participation.documents.services import letterhead

    return letterhead()


def context(proposal: Proposal) -> dict:
    """What the receipt prints: the proposal, its session, and when it was printed."""
    return {"proposal": proposal, "receipt_session": proposal.themed_session, "printed_at": utcnow()}


def html(proposal: Proposal) -> str:
    """The receipt as a page for the browser's print dialogue.

    The logo travels inside the page as a data: URL (the CSP allows data: images): the
    letterhead's own address serves staff only, and an owner prints this page too.
    """
    head = _letterhead()
    logo = f"data:{head.logo_type};base64,{base64.b64encode(head.logo).decode()}" if head.logo else None
    return render_template(TEMPLATE, browser=True, letterhead=head, logo_src=logo, **context(proposal))


def pdf(proposal: Proposal) -> bytes:
    """The receipt as an A4 PDF with embedded fonts; nothing is fetched from outside.

    The caller has written nothing, so the transaction ends before the conversion (see render_pdf).
    """
    return render_pdf(TEMPLATE, letterhead=_letterhead(), release_database=True, **context(proposal))


def filename(proposal: Proposal) -> str:
    """The PDF's file name, e.g. tanda-terima-MT-2027-0042.pdf (receipt numbers are ASCII)."""
    return f"tanda-terima-{proposal.receipt_number}.pdf"
