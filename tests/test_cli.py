"""The foundation's commands: create-user, seed-demo, backup."""
from __future__ import annotations

import sqlite3
import stat

from sqlalchemy import func, select

from participation.models import AuditEvent, Business, Proposal, Role, User
from tests.conftest import app_db, clean_database, login


def run(app, *args, env=None):
    return app.test_cli_runner().invoke(args=list(args), env=env or {}, catch_exceptions=False)


def test_create_user_from_the_environment(app):
    result = run(app, "create-user", "--role", "planner", "--email", "Dewi@Pemkot.example",
                 "--name", "Dewi Rahayu", env={"PARTICIPATION_PASSWORD": "Serabi-Notosuman-1923"})
    assert result.exit_code == 0, result.output
    with app_db(app) as session:
        user = session.scalar(select(User))
        assert (user.email, user.role, user.name) == ("dewi@pemkot.example", Role.PLANNER, "Dewi Rahayu")
        assert session.scalar(select(AuditEvent.action)) == "user.created"
    assert login(app.test_client(), "dewi@pemkot.example", "Serabi-Notosuman-1923").status_code == 303


def test_create_user_prompts_for_the_password(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "--role", "admin", "--email", "ops@pemkot.example",
                                 "--name", "Operator"],
                           input="Serabi-Notosuman-1923\nSerabi-Notosuman-1923\n")
    assert result.exit_code == 0, result.output
    assert "Created admin ops@pemkot.example" in result.output


def test_create_user_refuses_weak_passwords_and_duplicates(app, make_user):
    weak = run(app, "create-user", "--role", "planner", "--email", "a@pemkot.example", "--name", "A",
               env={"PARTICIPATION_PASSWORD": "pendek"})
    assert weak.exit_code != 0 and "refused" in weak.output
    make_user("planner", email="b@pemkot.example")
    duplicate = run(app, "create-user", "--role", "planner", "--email", "B@pemkot.example",
                    "--name", "B", env={"PARTICIPATION_PASSWORD": "Serabi-Notosuman-1923"})
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    with app_db(app) as session:
        assert session.scalar(select(func.count(User.id))) == 1


def test_create_user_staff_passwords_need_twelve_characters(app):
    result = run(app, "create-user", "--role", "facilitator", "--email", "f@pemkot.example",
                 "--name", "F", env={"PARTICIPATION_PASSWORD": "Serabi-92x"})
    assert result.exit_code != 0
    assert "12" in result.output


def _demo_snapshot(app):
    with app_db(app) as session:
        users = [(u.role.value, u.name, u.email) for u in session.scalars(select(User).order_by(User.id))]
        businesses = [(b.name, b.nib, b.kbli_codes, b.scale.value, b.kecamatan, b.kelurahan, b.phone)
                      for b in session.scalars(select(Business).order_by(Business.id))]
        proposals = [(p.receipt_number, p.title, p.estimated_cost, p.status.value, p.source.value,
                      p.category.name, p.business.name) for p in session.scalars(select(Proposal).order_by(Proposal.id))]
    return users, businesses + proposals


def _printed_accounts(output: str) -> list[tuple[str, str, str]]:
    """(role, email, password) for every account in seed-demo's table."""
    lines = output.splitlines()
    start = lines.index("-" * 80) + 1
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        role, email, password = line.split()
        rows.append((role, email, password))
    return rows


def test_seed_demo_is_deterministic_except_passwords(app_config, backend, migrated_database, tmp_path):
    from participation import create_app
    from participation.auth.passwords import verify_password

    snapshots, printed, saved = [], [], []
    for attempt in range(2):
        if attempt == 1:  # an empty database again (the audit log cannot be emptied row by row)
            with app.app_context():
                app.extensions["sqlalchemy"].engine.dispose()  # PostgreSQL: let TRUNCATE have the tables
            app_config = {**app_config, "SQLALCHEMY_DATABASE_URI": clean_database(
                backend, migrated_database, tmp_path / "second.db")}
        app = create_app(dict(app_config))
        result = run(app, "seed-demo")
        assert result.exit_code == 0, result.output
        printed.append(_printed_accounts(result.output))
        saved.append((tmp_path / "instance" / "demo-accounts.txt").read_text())
        snapshots.append(_demo_snapshot(app))
        with app_db(app) as session:  # the printed passwords are the stored ones
            hashes = {u.email: u.password_hash for u in session.scalars(select(User))}
            with app.test_request_context():
                assert all(verify_password(hashes[email], password) for _, email, password in printed[-1])
    assert snapshots[0] == snapshots[1]  # everything else is identical
    accounts_a, accounts_b = printed
    assert len(accounts_a) == len(accounts_b) == 50
    assert [row[:2] for row in accounts_a] == [row[:2] for row in accounts_b]
    # Fresh random passwords every time: no account gets the same password twice, and none is reused.
    assert all(a[2] != b[2] for a, b in zip(accounts_a, accounts_b))
    assert len({row[2] for row in accounts_a + accounts_b}) == 100
    for accounts, text in zip(printed, saved):
        assert [tuple(line.split()) for line in text.splitlines()[2:]] == accounts
    users = snapshots[0][0]
    roles = [role for role, _, _ in users]
    assert roles.count("admin") == 1 and roles.count("planner") == 3 and roles.count("facilitator") == 1
    assert roles.count("proponent") == 45
    # The printed passwords work.
    _, email, password = next(row for row in accounts_b if row[0] == "planner")
    assert login(app.test_client(), email, password).status_code == 303


def test_seed_demo_writes_a_private_accounts_file(app, tmp_path):
    assert app.instance_path == str(tmp_path / "instance")
    result = run(app, "seed-demo")
    assert result.exit_code == 0
    accounts = tmp_path / "instance" / "demo-accounts.txt"
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
    assert "admin@pemkot.example" in accounts.read_text()


def test_seed_demo_refuses_a_database_with_data(app, make_user):
    make_user()
    assert run(app, "seed-demo").exit_code != 0
    result = run(app, "seed-demo", "--if-empty")
    assert result.exit_code == 0 and "not seeded again" in result.output


def test_seed_demo_refuses_production(app_config, monkeypatch, tmp_path):
    from participation import create_app

    monkeypatch.setenv("FLASK_SECRET_KEY", "p" * 48)
    production = create_app({"APP_ENV": "production", "PUBLIC_BASE_URL": "https://musrenbang.test",
                             "SQLALCHEMY_DATABASE_URI": app_config["SQLALCHEMY_DATABASE_URI"]})
    result = production.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "production" in result.output
    with app_db(production) as session:
        assert session.scalar(select(func.count(User.id))) == 0


def test_backup_writes_a_consistent_copy(app, make_user, tmp_path, backend):
    make_user(email="tercadang@contoh.id")
    destination = tmp_path / "backups" / ("copy.db" if backend == "sqlite" else "copy.dump")
    result = run(app, "backup", str(destination))
    assert result.exit_code == 0, result.output
    assert destination.stat().st_size > 0
    if backend == "sqlite":
        copy = sqlite3.connect(destination)
        assert copy.execute("SELECT email FROM users").fetchall() == [("tercadang@contoh.id",)]
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        copy.close()
    else:
        assert destination.read_bytes()[:5] == b"PGDMP"


def test_seed_demo_creates_the_themed_session_with_proposals(app):
    from participation.models import Category, Invitation, ProposalSource, ProposalStatus, SessionStatus, ThemedSession

    assert run(app, "seed-demo").exit_code == 0
    with app_db(app) as session:
        [themed_session] = session.scalars(select(ThemedSession)).all()
        # The meeting has taken place: the demo session is under review.
        assert themed_session.title == "Musrenbang Tematik IKM" and themed_session.status is SessionStatus.REVIEW
        invited = session.scalars(select(Invitation).where(Invitation.walk_in.is_(False))).all()
        assert len(invited) == 45
        submitted = session.scalars(select(Proposal).where(Proposal.status == ProposalStatus.SUBMITTED)).all()
        assert len(submitted) >= 60
        assert {p.category_id for p in submitted} == {c.id for c in session.scalars(select(Category))}
        assert any(p.source is ProposalSource.PAPER for p in submitted)
        assert session.scalar(select(func.count(Proposal.id)).where(Proposal.status == ProposalStatus.WITHDRAWN)) >= 3
        assert [c.key for c in themed_session.criteria] == [
            "urgensi", "kesesuaian_rpjmd", "kesiapan_pelaksanaan", "penerima_manfaat", "tenaga_kerja_baru",
            "perkiraan_biaya", "dukungan_peserta"]
        requested = sum(p.estimated_cost for p in submitted)
        assert 0.3 <= themed_session.budget_ceiling / requested <= 0.37
        receipts = sorted(p.receipt_number for p in session.scalars(select(Proposal)) if p.receipt_number)
        assert receipts == [f"MT-{themed_session.fiscal_year}-{n:04d}" for n in range(1, len(receipts) + 1)]
        # Complete ratings by the three planners, votes, and a few decisions.
        from participation.models import Decision, Rating

        rating_criteria = [c for c in themed_session.criteria if c.source.value == "rating"]
        assert session.scalar(select(func.count(Rating.id))) == len(submitted) * 3 * len(rating_criteria)
        assert sum(p.votes for p in submitted) > 0 and all(p.votes_recorded_at for p in submitted)
        assert 3 <= session.scalar(select(func.count(Decision.id))) < len(submitted)


def test_seed_demo_has_a_lenient_planner_whom_the_standardized_aggregation_corrects(app):
    from participation.models import RatingAggregation, ThemedSession
    from participation.review.agreement import session_agreement
    from participation.review.ranking import build_ranking

    assert run(app, "seed-demo").exit_code == 0
    with app.test_request_context(), app_db(app) as session:
        themed_session = session.scalar(select(ThemedSession))
        overall = sorted(planner.overall for planner in session_agreement(themed_session).planners)
        assert overall[-1] >= 0.6 and overall[0] < 0 and overall[1] < 0  # one planner rates about a point higher
        mean_order = [item.proposal.id for item in build_ranking(themed_session, stability=False).ranked]
        themed_session.rating_aggregation = RatingAggregation.STANDARDIZED
        standardized_order = [item.proposal.id for item in build_ranking(themed_session, stability=False).ranked]
        assert len(mean_order) == len(standardized_order) >= 60 and mean_order != standardized_order
