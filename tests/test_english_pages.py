"""English is English: no page of any role mixes Indonesian words into the English interface.

Every GET page that the access table (tests/test_access_control.py) answers 200 to a role is
opened in English as that role, on the access table's world. What users and planners typed (names,
titles, the default template's Indonesian category names) is data, not interface: every text
stored in the database is taken out of the page before it is searched for Indonesian words, and so
is anything marked `lang="id"` (the language switch's "Bahasa Indonesia").
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import String, Text, select

from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, app_db, login, post_form
from tests.test_access_control import (
    ACCESS,
    REQUESTS,
    ROLES,
    STAFF,
    build_world,
    resolve,
    url_for_case,
)

# Words an English sentence never holds but Indonesian interface text nearly always does.
INDONESIAN = re.compile(
    r"\b(dan|yang|untuk|dengan|tidak|atau|belum|sudah|akan|dari|pada|ini|itu|Anda|oleh|sebagai|"
    r"usulan|sesi|simpan|batal|kirim|ubah|hapus|tarik|masuk|keluar|daftar|cari|lihat|unduh|cetak|"
    r"kembali|peringkat|keputusan|pemilik|usaha|anggaran|kriteria|bobot|berkas)\b", re.IGNORECASE)
VISIBLE_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
# Pages that are not HTML for a person (files, JSON, PDFs) are left to their own tests.
NOT_PAGES = re.compile(r"\.(pdf|xlsx|csv|json|zip|png|txt)$|/status$|/lampiran/|/unduh")


class VisibleText(HTMLParser):
    """The text a person reads on the page: text nodes and the visible attributes, without
    scripts, styles, and anything inside an element marked lang="id"."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden) for open elements

    @property
    def hidden(self) -> bool:
        return any(hidden for _, hidden in self.stack)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        hidden = tag in ("script", "style", "template") or attributes.get("lang") == "id"
        if not (hidden or self.hidden):
            self.parts.extend(attributes[name] for name in VISIBLE_ATTRIBUTES if attributes.get(name))
        if tag not in self.VOID:
            self.stack.append((tag, hidden))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def stored_texts(app) -> list[str]:
    """Every string value in the database, longest first (so a title goes before a word in it)."""
    from participation.extensions import db

    values = set()
    with app_db(app) as session:
        for table in db.metadata.sorted_tables:
            columns = [column for column in table.columns if isinstance(column.type, (String, Text))]
            if not columns:
                continue
            for row in session.execute(select(*columns)):
                values.update(value.strip() for value in row if isinstance(value, str) and len(value.strip()) > 1)
    return sorted(values, key=len, reverse=True)


def english_problems(html: str, data: list[str]) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(" ".join(parser.parts).split())
    for value in data:  # whole words only: a stored "en" must not cut "pengiriman" into "p giriman"
        text = re.sub(rf"(?<!\w){re.escape(' '.join(value.split()))}(?!\w)", " ", text)
    # Each word with the words around it, so a failure says where it is.
    return sorted({text[max(0, match.start() - 40):match.end() + 40] for match in INDONESIAN.finditer(text)})


def pages_for(role: str) -> list[tuple[str, str]]:
    return sorted((endpoint, method) for (endpoint, method), table in ACCESS.items()
                  if method == "GET" and table[role] == 200 and endpoint != "static")


@pytest.fixture
def world_app(app_config):
    from participation import create_app

    return create_app(dict(app_config))


@pytest.mark.parametrize("role", ROLES)
def test_every_page_in_english_is_english(world_app, role):
    app = world_app
    world = build_world(app)
    client = app.test_client()
    if role != "anonymous":
        assert login(client, f"{role}@contoh.id", STAFF_PASSWORD if role in STAFF else TEST_PASSWORD).status_code == 303
    assert post_form(client, "/bahasa", {"locale": "en"}, token_from="/").status_code == 303
    data = stored_texts(app)
    problems, visited = {}, 0
    for endpoint, method in pages_for(role):
        values, _ = resolve(REQUESTS.get((endpoint, method), {}), world)
        url = url_for_case(app, endpoint, values)
        if NOT_PAGES.search(url):
            continue
        response = client.get(url)
        assert response.status_code == 200, f"{url} as {role}: {response.status_code}"
        if not response.mimetype == "text/html":
            continue
        visited += 1
        html = response.get_data(as_text=True)
        assert '<html lang="en"' in html, f"{url} is not in English"
        found = english_problems(html, data)
        if found:
            problems[url] = found
    assert visited >= 3
    assert problems == {}, f"Indonesian words in the English interface as {role}: {problems}"
