"""Hostile and damaged import files: refused with the import's message, quickly, in bounded memory (issue 17)."""
from __future__ import annotations

import io
import re
import struct
import time
import tracemalloc
import zipfile
import zlib

import openpyxl
import pytest
from sqlalchemy import func, select

from participation.models import Business
from tests.conftest import app_db
from tests.intake.test_imports import HEADER, ROWS, csv_bytes, upload, xlsx_bytes

INVALID = "bukan buku kerja XLSX yang valid"


@pytest.fixture
def planner(make_user, login_as):
    user_id = make_user("planner")
    login_as(user_id)
    return user_id


def good_workbook() -> bytes:
    return xlsx_bytes(HEADER.split(","), [row.split(",") for row in ROWS[:2]])


def members_of(workbook: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(workbook))
    return {name: archive.read(name) for name in archive.namelist()}


def build_zip(members: dict[str, bytes | tuple[bytes, bytes, int, bytes]]) -> bytes:
    """A zip of deflated members; a (head, chunk, times, tail) member unpacks to `chunk` repeated between the two.

    Written by hand: one fully flushed deflate block of the chunk, repeated, is a valid stream of
    the repeated chunk, so a gigabyte bomb packs into a few kB at once.
    """
    local, central = io.BytesIO(), io.BytesIO()
    for name, content in members.items():
        head, chunk, times, tail = content if isinstance(content, tuple) else (b"", content, 1, b"")
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        start = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
        block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
        packed = start + block * times + packer.compress(tail) + packer.flush(zlib.Z_FINISH)
        crc = zlib.crc32(head)
        for _ in range(times):
            crc = zlib.crc32(chunk, crc)
        crc = zlib.crc32(tail, crc)
        size, encoded, offset = len(head) + len(chunk) * times + len(tail), name.encode(), local.tell()
        local.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(packed), size,
                                len(encoded), 0) + encoded + packed)
        central.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(packed), size,
                                  len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    directory = central.getvalue()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory),
                      local.tell(), 0)
    return local.getvalue() + directory + end


def rewritten(workbook: bytes, replace: dict[str, bytes | tuple | None]) -> bytes:
    """`workbook` with members replaced (None: dropped)."""
    members = {**members_of(workbook), **replace}
    return build_zip({name: content for name, content in members.items() if content is not None})


def shared_strings_bomb(megabytes: int, chunk: bytes = b"<si><t>" + b"A" * 1_048_560 + b"</t></si>",
                        times: int | None = None) -> bytes:
    """A small XLSX whose shared strings (the table every text cell points into) unpack to `megabytes` MB,
    or to `chunk` repeated `times` times."""
    members = members_of(good_workbook())
    types, rels = members["[Content_Types].xml"], members["xl/_rels/workbook.xml.rels"]
    main = b"http://schemas.openxmlformats.org/"
    return rewritten(good_workbook(), {
        "[Content_Types].xml": types.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType='
                                             b'"application/vnd.openxmlformats-officedocument.spreadsheetml.'
                                             b'sharedStrings+xml" /></Types>'),
        "xl/_rels/workbook.xml.rels": rels.replace(b"</Relationships>", b'<Relationship Type="' + main
                                                   + b'officeDocument/2006/relationships/sharedStrings" '
                                                   b'Target="sharedStrings.xml" Id="rId9" /></Relationships>'),
        "xl/sharedStrings.xml": (b'<sst xmlns="' + main + b'spreadsheetml/2006/main">', chunk,
                                 megabytes if times is None else times, b"</sst>"),
    })


def business_count(app) -> int:
    with app_db(app) as session:
        return session.scalar(select(func.count(Business.id)))


def test_openpyxl_parses_with_defusedxml():
    assert openpyxl.DEFUSEDXML is True


def test_a_zip_bomb_is_refused_quickly_in_bounded_memory(app, client, planner):
    from participation.intake import imports

    bomb = shared_strings_bomb(1024)  # 1 GB of shared strings in a 1 MB file
    assert len(bomb) < 2 * 1024 * 1024
    started = time.perf_counter()
    response = upload(client, "/impor/usaha", bomb, "bom.xlsx")
    elapsed = time.perf_counter() - started
    assert response.status_code == 400 and "lebih dari 48 MB" in response.get_data(as_text=True)
    assert elapsed < 1.0, elapsed
    assert business_count(app) == 0
    # What the refusal allocates, the file itself aside (measured apart: tracing slows the page's rendering).
    with app.test_request_context():
        tracemalloc.start()
        try:
            with pytest.raises(imports.ImportFileError):
                imports.import_businesses("bom.xlsx", bomb, None, limits=imports.TableLimits.for_web())
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, peak


def test_the_command_line_refuses_a_zip_bomb_before_parsing_it(app):
    from participation.intake import imports

    app.config["XLSX_MAX_UNPACKED_BYTES"] = 64 * 1024 * 1024
    bomb = shared_strings_bomb(100)
    with app.app_context():
        assert imports.estimate_rows("usaha.xlsx", good_workbook()) == 2  # counted, not parsed
        assert imports.estimate_rows("bom.xlsx", bomb) == 1
        with pytest.raises(imports.ImportFileError, match="lebih dari 64 MB"):
            imports.read_table("bom.xlsx", bomb)


def test_a_member_packed_suspiciously_tightly_is_refused(app):
    from participation.intake import imports

    bomb = shared_strings_bomb(20)  # within the size limit, but 20 MB packed into a few kB
    with app.app_context(), pytest.raises(imports.ImportFileError, match="dikemas dengan rapat mencurigakan"):
        imports.read_table("bom.xlsx", bomb, imports.TableLimits.for_web())


def test_a_workbook_of_countless_tiny_texts_is_refused_before_parsing(app):
    from participation.intake import imports

    # 61,000 short texts in 1 MB: within the size limit, but minutes of parsing.
    tiny = b"".join(b"<x:si><x:t>%d</x:t></x:si>" % n for n in range(1000))
    bomb = shared_strings_bomb(0, tiny, 61)
    started = time.perf_counter()
    with app.app_context(), pytest.raises(imports.ImportFileError, match="lebih banyak sel atau teks"):
        imports.read_table("teks.xlsx", bomb, imports.TableLimits.for_web())
    assert time.perf_counter() - started < 1.0


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;'
          b'&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
          b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&c;</t></si></sst>')


@pytest.mark.parametrize("member,content", [
    ("xl/sharedStrings.xml", LAUGHS),
    ("xl/worksheets/sheet1.xml", b'<?xml version="1.0"?><!DOCTYPE worksheet SYSTEM "http://evil.example/x.dtd">'
                                 b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                 b'<sheetData/></worksheet>'),
])
def test_a_workbook_with_a_dtd_is_refused(app, client, planner, member, content):
    response = upload(client, "/impor/usaha", rewritten(good_workbook(), {member: content}), "dtd.xlsx")
    assert response.status_code == 400 and "deklarasi tipe dokumen (DTD)" in response.get_data(as_text=True)
    assert business_count(app) == 0


def damaged_files():
    workbook = good_workbook()
    sheet = "xl/worksheets/sheet1.xml"
    return {
        "cut in half": (workbook[: len(workbook) // 2], INVALID),
        "a zip of something else": (build_zip({"a.txt": b"halo"}), INVALID),
        "sheet not XML": (rewritten(workbook, {sheet: b"<worksheet><sheetData><row><c>"}), INVALID),
        "sheet garbage": (rewritten(workbook, {sheet: b"\x00\x01 not xml at all"}), INVALID),
        "sheet missing": (rewritten(workbook, {sheet: None}), INVALID),
        "workbook XML broken": (rewritten(workbook, {"xl/workbook.xml": b"<workbook"}), INVALID),
        "CSV field over the csv limit": (csv_bytes(ROWS[0].replace("UD Keripik", "A" * 200_000)),
                                         "tidak dapat dibaca sebagai CSV"),
        "CSV with a thousand columns": (csv_bytes("1", header=",".join(f"k{i}" for i in range(1000))),
                                        "lebih dari 100 kolom"),
    }


@pytest.mark.parametrize("kind", list(damaged_files()))
def test_damaged_files_of_every_kind_get_the_imports_message(app, client, planner, kind):
    content, message = damaged_files()[kind]
    name = "rusak.csv" if kind.startswith("CSV") else "rusak.xlsx"
    for url in ("/impor/usaha",):
        response = upload(client, url, content, name)
        assert response.status_code == 400, (kind, response.status_code)
        assert message in response.get_data(as_text=True), kind
    assert business_count(app) == 0


def test_a_sheet_claiming_every_column_is_read_quickly(app):
    from participation.intake import imports

    workbook = good_workbook()
    sheet = zipfile.ZipFile(io.BytesIO(workbook)).read("xl/worksheets/sheet1.xml")
    wide = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:XFD3"', sheet)
    assert wide != sheet
    started = time.perf_counter()
    with app.app_context():
        header, rows = imports.read_table("lebar.xlsx", rewritten(workbook, {"xl/worksheets/sheet1.xml": wide}))
        rows = list(rows)
    assert time.perf_counter() - started < 1.0
    assert header == HEADER.split(",") and len(rows) == 2


def test_rows_per_web_upload_are_capped_with_a_message_naming_the_cap(app, client, planner):
    app.config["IMPORT_MAX_ROWS_WEB"] = 3
    rows = [f"320101000000{n},Usaha Nomor {n},Pemilik {n},10794,mikro,Sukamaju,Sukamaju,," for n in range(4)]
    response = upload(client, "/impor/usaha", csv_bytes(*rows), "usaha.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "paling banyak berisi 3 baris data" in body
    assert business_count(app) == 0
    response = upload(client, "/impor/usaha", xlsx_bytes(HEADER.split(","), [r.split(",") for r in rows]), "u.xlsx")
    assert response.status_code == 400 and "paling banyak berisi 3 baris data" in response.get_data(as_text=True)
    assert upload(client, "/impor/usaha", csv_bytes(*rows[:3]), "usaha.csv").status_code == 303
    assert business_count(app) == 3
