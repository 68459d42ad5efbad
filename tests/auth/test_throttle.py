"""Login throttling per account, IP and network; the owner's way in; hashing slots; what is kept."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from participation.models import AuditEvent, RateLimitHit, User, utcnow
from tests.conftest import TEST_PASSWORD, app_db, login, post_form

WRONG = "Salah-Sandi-9999"


def from_ip(app, ip: str):
    """A test client whose requests come from `ip`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def email_of(app, user_id: int) -> str:
    with app_db(app) as session:
        return session.get(User, user_id).email


def hits(app, scope: str) -> int:
    with app_db(app) as session:
        return session.scalar(select(func.count(RateLimitHit.id)).where(RateLimitHit.scope == scope))


@pytest.fixture
def addresses(app_config):
    """Address limits low enough to reach in a test (TestConfig raises them for everyone else)."""
    app_config.update(LOGIN_IP_MAX_FAILURES=3, LOGIN_IP_BURST_FAILURES=1000, LOGIN_SUBNET_MAX_FAILURES=5)


def test_a_spray_from_one_address_is_refused_after_a_handful_of_tries(addresses, app, make_user):
    emails = [email_of(app, make_user()) for _ in range(6)]
    attacker = from_ip(app, "198.51.100.7")
    assert [login(attacker, email, WRONG).status_code for email in emails[:3]] == [401, 401, 401]
    response = login(attacker, emails[3], WRONG)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert "Terlalu banyak percobaan masuk yang gagal dari jaringan Anda." in response.get_data(as_text=True)
    # Refused without a check: not even the right password gets through from there ...
    assert login(attacker, emails[4]).status_code == 429
    # ... while everyone else signs in as usual.
    assert login(from_ip(app, "203.0.113.9"), emails[4]).status_code == 303


@pytest.mark.parametrize("network,outsider", [
    (["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4", "198.51.100.5", "198.51.100.77"],
     "198.51.101.1"),
    (["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3", "2001:db8:1:2::4", "2001:db8:1:2::5",
      "2001:db8:1:2::77"], "2001:db8:1:3::1"),
])
def test_addresses_of_one_network_share_a_limit(addresses, app, make_user, network, outsider):
    """/24 for IPv4, /64 for IPv6: changing the last part of the address buys nothing."""
    email = email_of(app, make_user())
    *guessers, newcomer = network
    for number, ip in enumerate(guessers):  # one guess each: no address reaches its own limit
        assert login(from_ip(app, ip), f"tebakan{number}@contoh.id", WRONG).status_code == 401
    assert login(from_ip(app, newcomer), email).status_code == 429
    assert login(from_ip(app, outsider), email).status_code == 303


def test_a_burst_from_one_address_is_spaced_out(app_config, app, make_user):
    app_config.update(LOGIN_IP_BURST_FAILURES=3)
    app.config.update(LOGIN_IP_BURST_FAILURES=3)
    email = email_of(app, make_user())
    attacker = from_ip(app, "198.51.100.7")
    assert [login(attacker, f"tebakan{n}@contoh.id", WRONG).status_code for n in range(3)] == [401] * 3
    response = login(attacker, email)
    assert response.status_code == 429 and 0 < int(response.headers["Retry-After"]) <= 60
    with app_db(app) as session:  # a minute later
        for hit in session.scalars(select(RateLimitHit)):
            hit.created_at -= timedelta(seconds=61)
        session.commit()
    assert login(attacker, email).status_code == 303


def test_the_owner_signs_in_from_another_address_while_the_account_is_flooded(app, make_user):
    email = email_of(app, make_user())
    attacker = from_ip(app, "198.51.100.7")
    for _ in range(10):
        assert login(attacker, email, WRONG).status_code == 401
    assert login(attacker, email).status_code == 429  # the flooding address: refused outright
    assert login(from_ip(app, "203.0.113.9"), email).status_code == 303  # the owner, elsewhere


def test_over_the_limit_new_addresses_are_slowed_not_refused(app, make_user):
    email = email_of(app, make_user())
    for _ in range(10):
        login(from_ip(app, "198.51.100.7"), email, WRONG)
    # A new address gets one check per interval: a wrong guess is checked ...
    assert login(from_ip(app, "203.0.113.1"), email, WRONG).status_code == 401
    assert login(from_ip(app, "203.0.113.1"), email).status_code == 429  # ... and that address is out
    # ... and the next new address within the interval waits seconds, not minutes.
    response = login(from_ip(app, "192.0.2.50"), email)
    assert response.status_code == 429
    interval = app.config["LOGIN_SLOW_INTERVAL"].total_seconds()
    assert 0 < int(response.headers["Retry-After"]) <= interval
    assert "hanya diperiksa sesekali" in response.get_data(as_text=True)
    with app_db(app) as session:  # the interval passes
        for hit in session.scalars(select(RateLimitHit).where(RateLimitHit.scope == "login.slow")):
            hit.created_at -= timedelta(seconds=interval + 1)
        session.commit()
    assert login(from_ip(app, "192.0.2.50"), email).status_code == 303


def test_a_password_typed_into_the_email_box_is_never_stored(app, client, make_user):
    typed = "Rahasia-Sandi-Saya-77"
    assert login(client, typed, WRONG).status_code == 401
    with app_db(app) as session:
        keys = session.scalars(select(RateLimitHit.key)).all()
        audited = session.scalars(select(AuditEvent.after).where(AuditEvent.action == "login.failure")).all()
    assert keys and all("rahasia" not in key.lower() for key in keys)
    assert audited[0]["email"].startswith("digest:") and "rahasia" not in str(audited).lower()
    # The same typing counts against the same digest, so the account limit still works.
    login(client, typed, WRONG)
    with app_db(app) as session:
        assert len(set(session.scalars(select(RateLimitHit.key).where(RateLimitHit.scope == "login.account")))) == 1


def test_the_current_password_check_is_throttled_like_signing_in(app, app_config, make_user):
    user_id = make_user()
    email = email_of(app, user_id)
    client = app.test_client()
    assert login(client, email).status_code == 303
    new = "Gudeg-Krecek-Manggar-2027"

    def change(current):
        return post_form(client, "/akun/kata-sandi", {"current_password": current, "password": new,
                                                      "password_confirm": new}, token_from="/akun")

    for _ in range(10):
        assert change(WRONG).status_code == 400
    response = change(TEST_PASSWORD)  # the right one, but from the address that guessed ten times
    assert response.status_code == 429
    assert response.headers["Retry-After"]
    assert "Terlalu banyak percobaan" in response.get_data(as_text=True)
    assert login(app.test_client(), email, new).status_code != 303  # unchanged
    # Failed current-password checks count against the account for signing in as well.
    assert login(app.test_client(), email).status_code == 429


def test_a_busy_host_answers_503_and_counts_no_failure(app_config, app, make_user):
    from participation.auth.passwords import hashing_slot

    app_config.update(ARGON2_MAX_CONCURRENT=1)
    email = email_of(app, make_user())
    app.config.update(ARGON2_MAX_CONCURRENT=1, ARGON2_SLOT_WAIT=timedelta(seconds=0.05))
    held, release = threading.Event(), threading.Event()

    def hold():
        with app.app_context(), hashing_slot():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(10)
        response = login(app.test_client(), email)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "2"
        assert "Saat ini banyak percobaan masuk sedang diperiksa" in response.get_data(as_text=True)
    finally:
        release.set()
        holder.join()
    assert hits(app, "login.account") == 0
    with app_db(app) as session:
        assert session.scalar(select(AuditEvent.after).where(AuditEvent.action == "login.failure"))["reason"] == "busy"
    assert login(app.test_client(), email).status_code == 303  # the slot is free again


def test_no_more_hashes_than_slots_run_at_once(app):
    """Threads (and processes: the slots are flock'ed files) take turns."""
    from participation.auth import passwords

    app.config.update(ARGON2_MAX_CONCURRENT=2, ARGON2_SLOT_WAIT=timedelta(seconds=30))
    running, peak, lock = [0], [0], threading.Lock()
    real = passwords._hasher

    class Counting:
        def __init__(self, hasher):
            self.hasher = hasher

        def hash(self, password):
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            threading.Event().wait(0.05)
            with lock:
                running[0] -= 1
            return self.hasher.hash(password)

    def work():
        with app.app_context():
            passwords.hash_password("Ketan-Serundeng-4471")

    passwords_hasher = passwords.hasher
    passwords.hasher = lambda: Counting(real(1, 8, 1))
    try:
        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        passwords.hasher = passwords_hasher
    assert peak[0] == 2


def test_expired_hits_of_every_limit_are_pruned(app, client):
    old = utcnow() - timedelta(days=2)
    with app_db(app) as session:
        for scope in ("login.account", "login.ip", "register.ip", "proposal.account"):
            session.add(RateLimitHit(scope=scope, key="lama", created_at=old))
        session.add(RateLimitHit(scope="register.ip", key="baru", created_at=utcnow()))
        session.commit()
    login(client, "siapa@contoh.id", WRONG)
    with app_db(app) as session:
        left = session.scalars(select(RateLimitHit.key).where(RateLimitHit.scope == "register.ip")).all()
        assert left == ["baru"]
        assert session.scalar(select(func.count()).where(RateLimitHit.key == "lama")) == 0
