"""The suite-wide guard (tests/conftest.py): a test fails when the app met an unhandled exception."""
from __future__ import annotations

import logging

import pytest


def crashing_app(app_config, **config):
    from participation import create_app

    crashing = create_app({**app_config, **config})

    @crashing.route("/boom")
    def boom():
        raise RuntimeError("boom")

    return crashing


def test_the_guard_sees_a_500(app_config, no_unhandled_exceptions):
    response = crashing_app(app_config, PROPAGATE_EXCEPTIONS=False).test_client().get("/boom")
    assert response.status_code == 500
    assert any("RuntimeError: boom" in entry for entry in no_unhandled_exceptions.seen)
    no_unhandled_exceptions.seen.clear()  # provoked here on purpose: the guard must not fail this test


def test_the_guard_sees_an_exception_the_test_client_raises(app_config, no_unhandled_exceptions):
    with pytest.raises(RuntimeError):
        crashing_app(app_config).test_client().get("/boom")
    assert no_unhandled_exceptions.seen
    no_unhandled_exceptions.seen.clear()


def test_the_guard_sees_a_traceback_logged_by_the_app(app, no_unhandled_exceptions):
    try:
        raise ValueError("logged")
    except ValueError:
        app.logger.exception("a handled error logged with its traceback")
    logging.getLogger("participation.jobs").error("an error without a traceback is not a crash")
    assert len(no_unhandled_exceptions.seen) == 1 and "ValueError: logged" in no_unhandled_exceptions.seen[0]
    no_unhandled_exceptions.seen.clear()


@pytest.mark.provokes_server_error
def test_a_marked_test_may_provoke_a_500(app_config):
    assert crashing_app(app_config, PROPAGATE_EXCEPTIONS=False).test_client().get("/boom").status_code == 500
