"""An imported number gets one accurate message, with an example that fits its column."""
from __future__ import annotations

import html

from sqlalchemy import func, select

from participation.models import Proposal
from tests.conftest import app_db
from tests.intake.test_imports import (  # noqa: F401 (fixtures)
    PROPOSAL_HEADER,
    csv_bytes,
    import_session,
    planner,
    upload,
)


def row(cost="45.000.000", people="25", jobs="3"):
    return (f"3201010000001,Keripik Tempe Bu Siti,Mesin pengemas vakum bersama,Kemasan manual,Pengadaan mesin,"
            f'Bantuan peralatan,"{cost}",{people},{jobs},')


def test_imported_numbers_get_one_accurate_message_each(app, client, import_session):
    data = csv_bytes(row(jobs="banyak"), row(jobs="1.500.000"), row(people="-4"), row(cost="gratis"),
                     header=PROPOSAL_HEADER)
    response = upload(client, f"/sesi/{import_session}/impor-usulan", data, "usulan.csv")
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "Isi bilangan bulat, misalnya 3." in body
    assert "Isi bilangan bulat dari 0 sampai 1.000.000." in body
    assert "Isi bilangan bulat dari 0 sampai 10.000.000." in body
    assert "Isi bilangan bulat, misalnya 15.000.000." in body
    assert "misalnya 1.500.000" not in body
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0
