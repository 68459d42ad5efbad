"""An empty registration lists every missing field once, in the order of the page."""
from __future__ import annotations

import re

from tests.auth.test_register import VALID, counts, register
from tests.proposals.test_form_messages import field_messages, summary_items


def test_an_empty_registration_lists_every_missing_field_once_in_page_order(app, client):
    empty = dict.fromkeys(VALID, "")
    del empty["cert_halal"], empty["agree"]  # an unticked box is not sent
    response = register(client, **({key: None for key in VALID} | empty))
    assert response.status_code == 400
    assert summary_items(response.get_data(as_text=True)) == [
        "Nama lengkap Anda: Isi nama Anda.",
        "Email: Isi alamat email Anda.",
        "Kata sandi: Isi kata sandi.",
        "Ulangi kata sandi: Ulangi kata sandi.",
        "Nama usaha: Isi nama usaha.",
        "NIB (Nomor Induk Berusaha): Isi NIB.",
        "Kode KBLI: Isi setidaknya satu kode KBLI.",
        "Skala usaha: Pilih skala usaha, atau isi modal atau hasil penjualan.",
        "Kelurahan: Isi kelurahan.",
        "Kecamatan: Isi kecamatan.",
        "Telepon / WhatsApp: Isi nomor telepon.",
        "Saya setuju data saya diproses untuk keperluan musyawarah perencanaan ini (UU 27/2022 tentang "
        "Pelindungan Data Pribadi).: Anda harus menyetujui sebelum mendaftar.",
    ]
    assert counts(app) == (0, 0)


def test_selects_left_out_of_the_request_are_not_a_wrong_choice(app, client):
    response = register(client, legal_form=None, scale=None, capital="")
    body = response.get_data(as_text=True)
    assert summary_items(body) == ["Skala usaha: Pilih skala usaha, atau isi modal atau hasil penjualan."]
    assert "Pilihan tidak valid" not in body


def test_registration_numbers_get_one_message_with_an_example_that_fits(app, client):
    response = register(client, workforce_men="lima", workforce_women="200000", capital="banyak")
    body = response.get_data(as_text=True)
    assert field_messages(body, "workforce_men") == "Isi bilangan bulat, misalnya 5."
    assert field_messages(body, "workforce_women") == "Isi bilangan bulat dari 0 sampai 100.000."
    assert field_messages(body, "capital") == "Isi bilangan bulat, misalnya 50.000.000."
    assert counts(app) == (0, 0)
    labels = re.findall(r"<label[^>]*>(.*?)</label>\s*(<span[^>]*>\(opsional\)</span>)?",
                        client.get("/daftar").get_data(as_text=True), re.S)
    assert labels and not any("opsional" in text and marker for text, marker in labels)
