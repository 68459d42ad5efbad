"""Mail settings and PUBLIC_BASE_URL: from the environment, refused when they cannot work."""
from __future__ import annotations

import pytest

from participation.config import ConfigError


def production(monkeypatch, tmp_path, **config):
    from participation import create_app

    monkeypatch.setenv("FLASK_SECRET_KEY", "s" * 48)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    return create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db", **config})


def test_production_needs_the_public_address_for_the_links_in_mails(monkeypatch, tmp_path):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL is not set"):
        production(monkeypatch, tmp_path)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://musrenbang.kota.go.id")
    assert production(monkeypatch, tmp_path).config["PUBLIC_BASE_URL"] == "https://musrenbang.kota.go.id"


def test_production_with_a_mail_server_needs_a_sender(monkeypatch, tmp_path):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://musrenbang.kota.go.id")
    monkeypatch.setenv("MAIL_SERVER", "smtp.kota.go.id")
    with pytest.raises(ConfigError, match="MAIL_DEFAULT_SENDER"):
        production(monkeypatch, tmp_path)
    monkeypatch.setenv("MAIL_DEFAULT_SENDER", "Musrenbang <noreply@kota.go.id>")
    monkeypatch.setenv("MAIL_PORT", "587")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    app = production(monkeypatch, tmp_path)
    assert (app.config["MAIL_SERVER"], app.config["MAIL_PORT"], app.config["MAIL_USE_TLS"],
            app.config["MAIL_USE_SSL"]) == ("smtp.kota.go.id", 587, True, False)
    assert app.extensions["mail"].server == "smtp.kota.go.id" and app.extensions["mail"].port == 587


@pytest.mark.parametrize("url", ["musrenbang.kota.go.id", "ftp://kota.go.id", "https://", "https://kota.go.id?x=1",
                                 "https://kota.go.id/#a", "javascript:alert(1)"])
def test_a_public_address_that_is_not_one_is_refused(monkeypatch, tmp_path, url):
    from participation import create_app

    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL must be"):
        create_app({"APP_ENV": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/t.db",
                    "PUBLIC_BASE_URL": url})


def test_a_mail_port_that_is_not_a_port_is_refused(monkeypatch, tmp_path):
    from participation import create_app

    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("MAIL_PORT", "dua lima")
    with pytest.raises(ConfigError, match="MAIL_PORT must be a port number"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/d.db"})


def test_development_links_follow_the_port_make_run_serves(monkeypatch, tmp_path):
    from participation import create_app
    from participation.notifications.render import base_url, public_url

    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/d.db"})
    with app.app_context():
        assert base_url() == "http://127.0.0.1:8080"
        assert public_url("proposals.detail", proposal_id=7) == "http://127.0.0.1:8080/usulan/7"
    # A site served under a path keeps it.
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/d.db",
                      "PUBLIC_BASE_URL": "https://kota.go.id/musrenbang/"})
    with app.app_context():
        assert public_url("proposals.detail", proposal_id=7) == "https://kota.go.id/musrenbang/usulan/7"
