"""A session whose meeting has taken place: invited businesses with rated proposals."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from pypdf import PdfReader

from participation.models import SessionStatus, User
from tests.conftest import app_db
from tests.factories import as_actor, make_business, make_proposal, make_session, rate_all

# Friday 12 February 2027, 09.00 WIB (02.00 UTC)
MEETING_START = datetime(2027, 2, 12, 2, 0)
INVITED = 12


@pytest.fixture
def meeting(app, make_user, login_as):
    """Ids of the session, its staff, businesses and proposals; the facilitator is signed in."""
    from participation.intake.services import invite

    planner, facilitator = make_user("planner", name="Dedi Kurniawan"), make_user("facilitator", name="Maya Lestari")
    with app_db(app) as session:
        themed_session = make_session(session.get(User, planner), members=[session.get(User, facilitator)],
                                      title="Musrenbang Tematik IKM", venue="Aula Bappeda, Jl. Pahlawan No. 1",
                                      meeting_start=MEETING_START, budget_ceiling=120_000_000)
        businesses, proposals = [], []
        for n in range(INVITED):
            business = make_business(nib=f"{3201000000000 + n}", name=f"Keripik Sumber Rejeki {n:02d}")
            business.owner_name = f"Pemilik Nomor {n:02d}"
            businesses.append(business)
            category = themed_session.categories[n % 4]
            proposals.append(make_proposal(themed_session, business, category_id=category.id,
                                           title=f"Usulan pelatihan nomor {n:02d}",
                                           estimated_cost=(10 + 3 * n) * 1_000_000))
        invite(themed_session, [b.id for b in businesses], as_actor(session.get(User, facilitator)))
        rate_all(themed_session, [session.get(User, planner)], value=lambda p, c, u: 1 + (p.id * 7 + c.id) % 5)
        themed_session.status = SessionStatus.REVIEW
        session.commit()
        ids = {"session": themed_session.id, "planner": planner, "facilitator": facilitator,
               "businesses": [b.id for b in businesses], "proposals": [p.id for p in proposals],
               "receipts": [p.receipt_number for p in proposals]}
    login_as(facilitator)
    return ids


def pdf_reader(response) -> PdfReader:
    """The PDF of a response, after checking that it is one."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    return PdfReader(io.BytesIO(response.data))


def pdf_text(reader: PdfReader) -> str:
    """All text of the document, with runs of white space folded to one space."""
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
