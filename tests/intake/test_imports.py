"""Imports from CSV and XLSX: header checks, row-level errors, all or nothing, merged duplicates."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from participation.events import Actor
from participation.models import (
    Business,
    Proposal,
    ProposalSource,
    ProposalStatus,
    SessionStatus,
    ThemedSession,
    normalize_business_name,
)
from tests.conftest import app_db, csrf_token
from tests.factories import make_business
from tests.hostile import HOSTILE

HEADER = "nib,nama_usaha,nama_pemilik,kbli,skala,kelurahan,kecamatan,telepon,sertifikat"
ROWS = [
    "3201010000001,UD Keripik Tempe Bu Siti,Siti Aminah,10794,mikro,Sukamaju,Sukamaju,0812-1111-0001,halal",
    "3201010000002,CV Batik Sekar Jagad,Sri Handayani,13134,kecil,Kauman,Karanganyar,,",
    # The same business again, written differently, with a second KBLI code: merged.
    "3201010000001,keripik tempe bu siti,Siti Aminah,10392,mikro,Sukamaju,Sukamaju,,pirt",
    # The same NIB, another business name: a separate business.
    "3201010000002,Batik Tulis Lasem,Sri Handayani,13134,mikro,Kauman,Karanganyar,,",
]


def csv_bytes(*rows, header=HEADER, delimiter=",") -> bytes:
    text = "\n".join([header, *rows]).replace(",", delimiter) + "\n"
    return text.encode("utf-8-sig")


def xlsx_bytes(header: list, rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def planner(make_user, login_as):
    user_id = make_user("planner")
    login_as(user_id)
    return user_id


def upload(client, url, data: bytes, filename: str):
    return client.post(url, data={"csrf_token": csrf_token(client, url), "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def businesses(app):
    with app_db(app) as session:
        return [(b.nib, b.name, b.kbli_codes, b.cert_halal, b.cert_pirt)
                for b in session.scalars(select(Business).order_by(Business.id))]


def test_csv_import_merges_duplicates_and_unites_kbli(app, client, planner):
    response = upload(client, "/impor/usaha", csv_bytes(*ROWS), "usaha.csv")
    assert response.status_code == 303
    assert businesses(app) == [
        ("3201010000001", "UD Keripik Tempe Bu Siti", "10392,10794", True, True),
        ("3201010000002", "CV Batik Sekar Jagad", "13134", False, False),
        ("3201010000002", "Batik Tulis Lasem", "13134", False, False),
    ]
    page = client.get("/impor/usaha").get_data(as_text=True)
    assert "4 baris diimpor: 3 usaha baru, 1 digabung" in page


def test_import_merges_into_businesses_already_stored(app, client, planner):
    with app_db(app) as session:
        make_business(nib="3201010000002", name="Batik Sekar Jagad")  # registered without the CV prefix
        session.commit()
    response = upload(client, "/impor/usaha", csv_bytes(ROWS[1], ROWS[0]), "usaha.csv")
    assert response.status_code == 303
    rows = businesses(app)
    assert len(rows) == 2 and rows[0][:3] == ("3201010000002", "Batik Sekar Jagad", "10794,13134")


@pytest.mark.parametrize("written", ["CV Maju Jaya", "C.V. Maju Jaya", "c.v maju jaya", "C V Maju Jaya",
                                     "CV. MAJU JAYA", "Maju Jaya"])
def test_dotted_and_spaced_legal_prefixes_are_ignored(written):
    assert normalize_business_name(written) == "maju jaya"


@pytest.mark.parametrize("written,key", [("U.D. Berkah", "berkah"), ("P.T. Sinar", "sinar"), ("P T Sinar", "sinar"),
                                         ("P.D. Pasar Jaya", "pasar jaya"), ("Kop. Tani Makmur", "tani makmur"),
                                         # Words that merely start with the letters keep them.
                                         ("P Tarigan", "p tarigan"), ("Udang Segar", "udang segar"),
                                         ("Cvita Batik", "cvita batik")])
def test_only_a_whole_legal_prefix_is_dropped(written, key):
    assert normalize_business_name(written) == key


def test_dotted_prefixes_merge_within_a_file_and_with_stored_businesses(app, client, planner):
    with app_db(app) as session:
        make_business(nib="3201010000005", name="UD Berkah Abadi")
        session.commit()
    rows = ["3201010000004,C.V. Maju Jaya,Ani,10794,mikro,Sukamaju,Sukamaju,,",
            "3201010000004,CV Maju Jaya,Ani,10392,mikro,Sukamaju,Sukamaju,,",
            "3201010000006,P.T. Sinar Terang,Budi,13134,kecil,Kauman,Karanganyar,,",
            "3201010000006,P T Sinar Terang,Budi,13134,kecil,Kauman,Karanganyar,,halal",
            "3201010000005,U.D. Berkah Abadi,Citra,13134,mikro,Kauman,Karanganyar,,"]
    response = upload(client, "/impor/usaha", csv_bytes(*rows), "usaha.csv")
    assert response.status_code == 303
    assert businesses(app) == [
        ("3201010000005", "UD Berkah Abadi", "10794,13134", False, False),
        ("3201010000004", "C.V. Maju Jaya", "10392,10794", False, False),
        ("3201010000006", "P.T. Sinar Terang", "13134", True, False),
    ]


def test_semicolon_csv_and_xlsx_with_numeric_nib(app, client, planner):
    assert upload(client, "/impor/usaha", csv_bytes(ROWS[0], delimiter=";"), "usaha.csv").status_code == 303
    workbook = xlsx_bytes(HEADER.split(","), [[3201010000009, "Mebel Jati", "Joko", 31001, "kecil", "Bener",
                                               "Tegalrejo", "081233334444", None]])
    assert upload(client, "/impor/usaha", workbook, "usaha.xlsx").status_code == 303
    assert [row[0] for row in businesses(app)] == ["3201010000001", "3201010000009"]


def test_row_errors_name_row_and_column_and_nothing_is_saved(app, client, planner):
    bad = [
        ROWS[0],
        "32010100000,Usaha NIB Pendek,Ani,10794,mikro,Sukamaju,Sukamaju,,",
        "3201010000003,Usaha Skala Aneh,Ani,1079,raksasa,Sukamaju,Sukamaju,123,emas",
    ]
    response = upload(client, "/impor/usaha", csv_bytes(*bad), "usaha.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Ditemukan 5 masalah; tidak ada yang diimpor." in body
    for row, column, message in ((3, "nib", "NIB harus tepat 13 digit angka."),
                                 (4, "kbli", "periksa “1079”"), (4, "skala", "Gunakan mikro, kecil, atau menengah."),
                                 (4, "telepon", "diawali 08 atau +62"), (4, "sertifikat", "Gunakan halal, pirt, atau sni.")):
        assert f"<td>{row}</td><td><code>{column}</code></td><td>" in body and message in body
    assert businesses(app) == []


def test_imported_phones_must_start_with_08_or_62(app, client, planner):
    row = "3201010000005,Bengkel Las Maju,Ani,25111,mikro,Sukamaju,Sukamaju,{phone},"
    response = upload(client, "/impor/usaha", csv_bytes(row.format(phone="(0274) 512-345")), "usaha.csv")
    assert response.status_code == 400 and "diawali 08 atau +62" in response.get_data(as_text=True)
    response = upload(client, "/impor/usaha", csv_bytes(row.format(phone="62 812-3456-7890")), "usaha.csv")
    assert response.status_code == 303
    with app_db(app) as session:
        assert session.scalar(select(Business.phone)) == "+6281234567890"


def test_headers_are_validated(app, client, planner):
    response = upload(client, "/impor/usaha", csv_bytes(header="nib,nama,kbli,warna"), "usaha.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Kolom wajib tidak ada." in body and "Kolom tidak dikenal" in body and "<code>warna</code>" in body


@pytest.mark.parametrize("content,name,message", [
    (b"", "kosong.csv", "Berkas kosong."),
    (b"PK\x03\x04 not really a zip", "rusak.xlsx", "bukan buku kerja XLSX yang valid"),
    (b"nib\x00,nama\n", "nul.csv", "byte NUL"),
    ("nib,nama_usaha,nama_pemilik,kbli,skala,kelurahan,kecamatan\n".encode(), "header.csv", "tidak berisi baris data"),
])
def test_unreadable_files_get_a_clear_message(app, client, planner, content, name, message):
    response = upload(client, "/impor/usaha", content, name)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_hostile_cells_never_cause_a_server_error_or_half_save(app, client, planner):
    for label, payload in HOSTILE.items():
        for column in (1, 2, 3, 5):  # name, owner, kbli, kelurahan
            cells = ROWS[0].split(",")
            cells[column] = payload.replace(",", " ").replace("\n", " ").replace("\r", " ")
            data = csv_bytes(",".join(cells))
            response = upload(client, "/impor/usaha", data, "hostile.csv")
            assert response.status_code in (303, 400), (label, column, response.status_code)
            with app_db(app) as session:
                count = session.scalar(select(func.count(Business.id)))
                assert count == (1 if response.status_code == 303 else 0), (label, column)
                session.execute(Business.__table__.delete())  # start the next case empty
                session.commit()


def test_formula_text_is_stored_as_text(app, client, planner):
    cells = ROWS[0].split(",")
    cells[1] = '=HYPERLINK("http://evil.example";"klik")'
    assert upload(client, "/impor/usaha", csv_bytes(",".join(cells)), "usaha.csv").status_code == 303
    assert businesses(app)[0][1] == '=HYPERLINK("http://evil.example";"klik")'


PROPOSAL_HEADER = ("nib,nama_usaha,judul,masalah,deskripsi,kategori,perkiraan_biaya,penerima_manfaat,"
                   "tenaga_kerja_baru,nomor_formulir")


@pytest.fixture
def import_session(make_world, planner):
    """The id of the planner's open session, with one business already registered."""
    known = {"nib": "3201010000001", "name": "UD Keripik Tempe Bu Siti"}
    return make_world(planners=[planner], businesses=[known]).session


def proposal_row(title="Mesin pengemas vakum bersama", nib="3201010000001", category="Bantuan peralatan",
                 cost="45.000.000", form=""):
    return (f"{nib},Keripik Tempe Bu Siti,{title},Kemasan manual,Pengadaan mesin,{category},"
            f'"{cost}",25,3,{form}')


def test_proposal_import_submits_with_receipts_and_flags_near_duplicates(app, client, import_session):
    data = csv_bytes(proposal_row(), proposal_row(title="Mesin Pengemas Vakum Bersama!"),
                     proposal_row(title="Sertifikasi halal keripik", category="sertifikasi HALAL"),
                     header=PROPOSAL_HEADER)
    response = upload(client, f"/sesi/{import_session}/impor-usulan", data, "usulan.csv")
    assert response.status_code == 303
    with app_db(app) as session:
        items = session.scalars(select(Proposal).order_by(Proposal.id)).all()
        assert [p.receipt_number for p in items] == ["MT-2027-0001", "MT-2027-0002", "MT-2027-0003"]
        assert all(p.status is ProposalStatus.SUBMITTED and p.source is ProposalSource.IMPORT for p in items)
        assert items[0].estimated_cost == 45_000_000 and items[2].category.name == "Sertifikasi halal"
        assert items[1].near_duplicate_of_id == items[0].id and items[2].near_duplicate_of_id is None
    page = client.get(f"/sesi/{import_session}/usulan").get_data(as_text=True)
    assert "Mirip dengan MT-2027-0001" in page


def test_proposal_import_is_all_or_nothing(app, client, import_session):
    data = csv_bytes(proposal_row(), proposal_row(nib="3201019999999"), proposal_row(category="Lain-lain"),
                     proposal_row(cost="gratis"), header=PROPOSAL_HEADER)
    response = upload(client, f"/sesi/{import_session}/impor-usulan", data, "usulan.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Tidak ada usaha dengan NIB dan nama ini" in body and "Kategori tidak dikenal" in body
    assert "Isi bilangan bulat" in body
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0


def test_proposal_import_takes_volume_and_unit_as_the_form_reads_them(app, client, import_session):
    header = ["nib", "nama_usaha", "judul", "masalah", "deskripsi", "kategori", "perkiraan_biaya",
              "penerima_manfaat", "tenaga_kerja_baru", "volume", "satuan"]
    base = ["3201010000001", "Keripik Tempe Bu Siti", "Mesin pengemas vakum bersama", "Kemasan manual",
            "Pengadaan mesin", "Bantuan peralatan", 45_000_000, 25, 3]
    refused = xlsx_bytes(header, [base + [1.5, "paket"], base + [1.555, "paket"], base + ["nol", "x" * 51]])
    response = upload(client, f"/sesi/{import_session}/impor-usulan", refused, "usulan.xlsx")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    # An XLSX number 1.555 is not read as 1555 (dots group thousands here): three decimals, refused.
    assert body.count("Isi volume lebih dari nol dengan paling banyak dua desimal") == 2
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0
    accepted = csv_bytes(proposal_row() + ',"1,5",paket', proposal_row(title="Sertifikasi halal keripik") + ",20,",
                         header=PROPOSAL_HEADER + ",volume,satuan")
    assert upload(client, f"/sesi/{import_session}/impor-usulan", accepted, "usulan.csv").status_code == 303
    with app_db(app) as session:
        stored = [(p.volume, p.satuan) for p in session.scalars(select(Proposal).order_by(Proposal.id))]
    assert stored == [(1.5, "paket"), (20.0, "")]


def test_paper_form_numbers_in_an_import_are_used_once(app, client, import_session):
    data = csv_bytes(proposal_row(form="K-001"), proposal_row(title="Usulan lain sama sekali", form="K-001"),
                     header=PROPOSAL_HEADER)
    response = upload(client, f"/sesi/{import_session}/impor-usulan", data, "usulan.csv")
    assert response.status_code == 400
    assert "Nomor formulir ini sudah dipakai" in response.get_data(as_text=True)
    assert upload(client, f"/sesi/{import_session}/impor-usulan", csv_bytes(proposal_row(form="K-001"), header=PROPOSAL_HEADER),
                  "usulan.csv").status_code == 303
    again = upload(client, f"/sesi/{import_session}/impor-usulan",
                   csv_bytes(proposal_row(title="Usulan lain sama sekali", form="K-001"), header=PROPOSAL_HEADER), "usulan.csv")
    assert again.status_code == 400
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 1


def test_proposal_import_checks_place_names_like_the_form(app, client, import_session):
    header = PROPOSAL_HEADER + ",kelurahan,kecamatan"
    data = csv_bytes(proposal_row() + ",Sukamaju,<b>Kota</b>", header=header)
    response = upload(client, f"/sesi/{import_session}/impor-usulan", data, "usulan.csv")
    assert response.status_code == 400
    assert "<td>2</td><td><code>kecamatan</code></td>" in response.get_data(as_text=True)
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0


@pytest.mark.parametrize("status", [SessionStatus.DRAFT, SessionStatus.FINALIZED, SessionStatus.ARCHIVED])
def test_proposal_import_is_refused_unless_the_session_takes_proposals(app, client, tmp_path, import_session,
                                                                        status):
    with app_db(app) as session:
        session.get(ThemedSession, import_session).status = status
        session.commit()
    url = f"/sesi/{import_session}/impor-usulan"
    page = client.get(url)
    assert page.status_code == 200
    assert "Usulan hanya dapat diimpor selama musrenbang dibuka atau dalam penilaian." in page.get_data(as_text=True)
    assert 'type="file"' not in page.get_data(as_text=True)  # nothing to upload into
    data = csv_bytes(proposal_row(), header=PROPOSAL_HEADER)
    token = csrf_token(client, f"/sesi/{import_session}/undangan")
    response = client.post(url, data={"csrf_token": token, "file": (io.BytesIO(data), "usulan.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Usulan hanya dapat diimpor" in response.get_data(as_text=True)
    path = tmp_path / "usulan.csv"
    path.write_bytes(data)
    result = app.test_cli_runner().invoke(args=["import-proposals", str(import_session), str(path)])
    assert result.exit_code != 0
    assert "Usulan hanya dapat diimpor selama musrenbang dibuka atau dalam penilaian." in result.output
    with app.app_context():
        from participation.extensions import db
        from participation.intake.imports import ImportRefused, import_proposals

        with pytest.raises(ImportRefused):
            import_proposals(db.session.get(ThemedSession, import_session), "usulan.csv", data, Actor.cli())
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0


def test_proposals_are_imported_while_the_session_is_under_review(app, client, import_session):
    with app_db(app) as session:
        session.get(ThemedSession, import_session).status = SessionStatus.REVIEW
        session.commit()
    response = upload(client, f"/sesi/{import_session}/impor-usulan", csv_bytes(proposal_row(), header=PROPOSAL_HEADER),
                      "usulan.csv")
    assert response.status_code == 303
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 1


def test_proposal_import_respects_the_per_business_limit_atomically(app, client, import_session):
    with app_db(app) as session:
        session.get(ThemedSession, import_session).max_proposals_per_business = 1
        session.commit()
    data = csv_bytes(proposal_row(), proposal_row(title="Usulan kedua yang lain"), header=PROPOSAL_HEADER)
    response = upload(client, f"/sesi/{import_session}/impor-usulan", data, "usulan.csv")
    assert response.status_code == 400
    assert "sudah mencapai batas 1 usulan" in response.get_data(as_text=True)
    with app_db(app) as session:
        assert session.scalar(select(func.count(Proposal.id))) == 0


def test_cli_imports_businesses_with_a_progress_bar(app, tmp_path):
    path = tmp_path / "usaha.csv"
    path.write_bytes(csv_bytes(*ROWS))
    result = app.test_cli_runner().invoke(args=["import-businesses", str(path)])
    assert result.exit_code == 0, result.output
    assert "4 baris diimpor: 3 usaha baru, 1 digabung" in result.output
    assert "Mengimpor usaha" in result.output  # the progress bar's label (on stderr), in Indonesian
    assert "Importing" not in result.output
    assert len(businesses(app)) == 3


def test_cli_prints_the_row_report_and_saves_nothing(app, tmp_path):
    path = tmp_path / "usaha.csv"
    path.write_bytes(csv_bytes(ROWS[0], "123,Usaha,Ani,10794,mikro,Sukamaju,Sukamaju,,"))
    result = app.test_cli_runner().invoke(args=["import-businesses", str(path)])
    assert result.exit_code != 0
    assert "nib" in result.output and "NIB harus tepat 13 digit angka." in result.output
    assert "Ditemukan 1 masalah; tidak ada yang diimpor." in result.output
    assert businesses(app) == []


def test_cli_imports_proposals_into_a_session(app, tmp_path, import_session):
    path = tmp_path / "usulan.xlsx"
    header = PROPOSAL_HEADER.split(",")
    rows = [["3201010000001", "Keripik Tempe Bu Siti", "Mesin pengemas vakum", "Kemasan manual", "Pengadaan",
             "Bantuan peralatan", 45000000, 25, 3, None]]
    path.write_bytes(xlsx_bytes(header, rows))
    result = app.test_cli_runner().invoke(args=["import-proposals", str(import_session), str(path)])
    assert result.exit_code == 0, result.output
    assert "Mengimpor usulan" in result.output
    assert "1 usulan diimpor dan dikirim; 0 tampak mirip usulan lain." in result.output
    bad = app.test_cli_runner().invoke(args=["import-proposals", "999", str(path)])
    assert bad.exit_code != 0 and "no session" in bad.output


def test_a_large_import_with_repeated_and_reused_nibs(app):
    """Big enough for the whole-table key scan and, on PostgreSQL, COPY; then a second pass merges."""
    from participation.intake.imports import import_businesses

    rows = [f"{3200000000000 + n // 2:013d},Usaha Nomor {n},Pemilik {n},10794,mikro,Sukamaju,Sukamaju,,"
            for n in range(2600)]  # every NIB holds two businesses
    rows += [f"{3200000000000 + n // 2:013d},CV. USAHA NOMOR {n},Pemilik {n},13134,mikro,Sukamaju,Sukamaju,,"
             for n in range(0, 2600, 5)]  # the same businesses again, written differently
    data = csv_bytes(*rows)
    with app.app_context():
        from participation.extensions import db

        result = import_businesses("besar.csv", data, Actor.cli())
        assert result.ok and (result.created, result.merged) == (2600, 520)
        assert len(set(result.ids)) == 2600
        db.session.commit()
        again = import_businesses("besar.csv", data, Actor.cli())
        assert again.ok and (again.created, again.merged) == (0, 3120)
        db.session.commit()
        assert db.session.scalar(select(func.count(Business.id))) == 2600
        assert db.session.scalar(select(Business.kbli_codes).where(Business.name == "Usaha Nomor 0")) == "10794,13134"
