"""Configuration guards, translations and Babel formatting."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime

import pytest
from babel.messages.pofile import read_po

from participation.config import ConfigError, normalize_database_url
from tests.conftest import ROOT


def production(monkeypatch, tmp_path, **config):
    from participation import create_app

    return create_app({"APP_ENV": "production", "PUBLIC_BASE_URL": "https://musrenbang.test",
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db", **config})


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="FLASK_SECRET_KEY"):
        production(monkeypatch, tmp_path)
    monkeypatch.setenv("FLASK_SECRET_KEY", "too-short")
    with pytest.raises(ConfigError, match="32"):
        production(monkeypatch, tmp_path)


def test_production_refuses_debug(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_SECRET_KEY", "s" * 48)
    with pytest.raises(ConfigError, match="debug"):
        production(monkeypatch, tmp_path, DEBUG=True)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigError, match="debug"):
        production(monkeypatch, tmp_path)


def test_production_refuses_seed_demo_and_starts_when_safe(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_SECRET_KEY", "s" * 48)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(ConfigError, match="seed-demo"):
        production(monkeypatch, tmp_path, SEED_DEMO_ALLOWED=True)
    app = production(monkeypatch, tmp_path)
    assert app.config["SEED_DEMO_ALLOWED"] is False and not app.debug


@pytest.mark.parametrize("app_env", ["test", "development", "production"])
def test_every_environment_refuses_a_secret_key_shorter_than_32_bytes(monkeypatch, tmp_path, app_env):
    from participation import create_app

    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    database = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/k.db", "PUBLIC_BASE_URL": "https://musrenbang.test"}
    for short in ("x", "too-short", "k" * 31, "é" * 15):  # 15 × 2 bytes in UTF-8: still short
        with pytest.raises(ConfigError, match="at least 32 bytes") as refused:
            create_app({"APP_ENV": app_env, "SECRET_KEY": short, **database})
        assert "secrets.token_urlsafe" in str(refused.value)  # the message says how to make one
    assert create_app({"APP_ENV": app_env, "SECRET_KEY": "k" * 32, **database}).secret_key == "k" * 32
    # The environment variable goes through the same rule (the test config ignores the environment).
    if app_env != "test":
        monkeypatch.setenv("FLASK_SECRET_KEY", "k" * 20)
        with pytest.raises(ConfigError, match="FLASK_SECRET_KEY must be at least 32 bytes"):
            create_app({"APP_ENV": app_env, **database})


def test_the_test_config_key_is_long_enough():
    from participation.config import TestConfig

    assert len(TestConfig.SECRET_KEY.encode()) >= 32


def test_development_from_a_fresh_clone_generates_a_long_key_and_refuses_a_short_one(monkeypatch, tmp_path):
    from participation import create_app

    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("APP_ENV", "development")
    app = create_app()  # what `make run` does on a fresh clone: no .env, no instance/
    key = (tmp_path / "secret_key").read_text()
    assert app.secret_key == key and len(key.encode()) >= 32
    assert create_app().secret_key == key  # kept across restarts
    (tmp_path / "secret_key").write_text("short-hand-written-key")
    with pytest.raises(ConfigError, match=r"secret_key must be at least 32 bytes.*delete the file"):
        create_app()


def test_unknown_environment_is_refused(monkeypatch):
    from participation import create_app

    monkeypatch.setenv("APP_ENV", "staging")
    with pytest.raises(ConfigError, match="APP_ENV"):
        create_app()


def test_database_url_comes_from_the_environment(monkeypatch, tmp_path):
    from participation import create_app

    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example:5432/musrenbang")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("APP_ENV", "development")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example:5432/musrenbang"
    monkeypatch.delenv("DATABASE_URL")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/participation.db"
    assert (tmp_path / "secret_key").read_text()  # the development key is kept in instance/


@pytest.mark.parametrize("url,expected", [
    ("postgresql://a@h/d", "postgresql+psycopg://a@h/d"),
    ("postgres://a@h/d", "postgresql+psycopg://a@h/d"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_normalize_database_url(url, expected):
    assert normalize_database_url(url) == expected


def test_every_message_in_the_source_is_translated_to_indonesian(tmp_path):
    """The catalogue is current (re-extracted here) and every entry has an Indonesian text."""
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "--ignore-dirs", ".* __pycache__",
                    "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with open(pot, "rb") as handle:
        wanted = {message.id for message in read_po(handle) if message.id}
    with open(ROOT / "participation/translations/id/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle, locale="id")
    translated = {message.id for message in catalog
                  if message.id and message.string and not message.fuzzy
                  and all(message.string if isinstance(message.string, tuple) else [message.string])}
    missing = sorted(str(m) for m in wanted - translated)
    assert not missing, f"untranslated or missing from id/messages.po: {missing}"


def test_no_message_is_marked_inside_an_f_string():
    """pybabel (on Python 3.11) does not look inside f-strings: a `_()` there is never extracted,
    so it is never translated and the test above cannot see it."""
    import re

    pattern = re.compile(r"""\bf(["'])[^"'\n]*\{_l?\(""")
    found = [f"{path.relative_to(ROOT)}:{number}"
             for path in sorted((ROOT / "participation").rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if pattern.search(line)]
    assert not found, f"move these translated texts out of the f-string: {found}"


def test_rupiah_and_dates_are_formatted_by_babel(app):
    from flask_babel import force_locale

    from participation.i18n import date_time, long_date, number, rupiah

    with app.test_request_context():
        assert rupiah(2_350_000_000) == "Rp2.350.000.000"
        assert rupiah(0) == "Rp0"
        assert long_date(date(2027, 2, 12)) == "12 Februari 2027"
        # Stored UTC, shown in Asia/Jakarta (UTC+7).
        assert date_time(datetime(2027, 2, 12, 2, 30)) == "12 Februari 2027 09.30"
        assert number(1234.5, 1) == "1.234,5"
        with force_locale("en"):
            assert rupiah(2_350_000_000) == "IDR2,350,000,000"
            assert long_date(date(2027, 2, 12)) == "February 12, 2027"
