"""A session whose meeting has taken place: invited businesses with rated proposals."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from pypdf import PdfReader

from participation.models import SessionStatus

# Friday 12 February 2027, 09.00 WIB (02.00 UTC)
MEETING_START = datetime(2027, 2, 12, 2, 0)
INVITED = 12


@pytest.fixture
def meeting(make_world, login_as):
    """Twelve invited businesses with rated proposals across four categories; the facilitator signed in."""
    world = make_world(
        planners=[{"name": "Dedi Kurniawan"}], facilitator={"name": "Maya Lestari"}, status=SessionStatus.REVIEW,
        title="Musrenbang Tematik IKM", venue="Aula Bappeda, Jl. Pahlawan No. 1", meeting_start=MEETING_START,
        budget_ceiling=120_000_000, invited=True, rated=lambda p, c, u: 1 + (p.id * 7 + c.id) % 5,
        proposals=[{"business": {"nib": f"{3201000000000 + n}", "name": f"Keripik Sumber Rejeki {n:02d}",
                                 "owner_name": f"Pemilik Nomor {n:02d}"},
                    "category": n % 4, "title": f"Usulan pelatihan nomor {n:02d}",
                    "estimated_cost": (10 + 3 * n) * 1_000_000}
                   for n in range(INVITED)])
    login_as(world.facilitator)
    return world


def pdf_reader(response) -> PdfReader:
    """The PDF of a response, after checking that it is one."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    return PdfReader(io.BytesIO(response.data))


def pdf_text(reader: PdfReader) -> str:
    """All text of the document, with runs of white space folded to one space."""
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
