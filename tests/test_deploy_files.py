"""deploy/: the systemd units, the backup script, and `make audit`'s verdicts (scripts/audit.py)."""
from __future__ import annotations

import configparser
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
FLASK = str(Path(sys.executable).with_name("flask"))


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


@pytest.mark.parametrize("name,command", [("musrenbang-web.service", "gunicorn -c /opt/musrenbang/deploy/gunicorn.conf.py"),
                                          ("musrenbang-worker.service", "flask --app app run-jobs"),
                                          ("musrenbang-backup.service", "/opt/musrenbang/deploy/backup.sh")])
def test_every_unit_runs_as_its_own_user_read_only_but_for_its_state(name, command):
    service = unit(name)["Service"]
    assert command in service["ExecStart"]
    assert service["EnvironmentFile"] == "/etc/musrenbang/env"
    assert (service["User"], service["Group"]) == ("musrenbang", "musrenbang")
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["ProtectHome"] == "yes" and service["PrivateTmp"] == "yes" and service["CapabilityBoundingSet"] == ""
    assert "/var/lib/musrenbang" in service["ReadWritePaths"].split()
    assert "INSTANCE_PATH=/var/lib/musrenbang" in service["Environment"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed (package systemd)")
@pytest.mark.parametrize("path", sorted((DEPLOY / "systemd").iterdir()), ids=lambda path: path.name)
def test_systemd_reads_every_setting_of_the_units(path):
    """No unknown key and no value systemd would ignore (the binaries under /opt are absent here)."""
    result = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, check=False)
    problems = [line for line in result.stderr.splitlines()
                if "is not executable" not in line and "not found" not in line]
    assert not problems, "\n".join(problems)


def test_the_backup_timer_runs_nightly_and_catches_up():
    timer = unit("musrenbang-backup.timer")["Timer"]
    assert timer["OnCalendar"] == "*-*-* 01:30:00" and timer["Persistent"] == "true"
    assert "/var/backups/musrenbang" in unit("musrenbang-backup.service")["Service"]["ReadWritePaths"].split()


def run_backup(tmp_path, database_url, backups, flask=FLASK, keep="2"):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "APP_"))}
    env.update(APP_ENV="development", INSTANCE_PATH=str(tmp_path / "instance"), DATABASE_URL=database_url,
               BACKUP_DIR=str(backups), BACKUP_KEEP=keep, FLASK=flask)
    return subprocess.run([str(DEPLOY / "backup.sh")], env=env, capture_output=True, text=True, cwd=tmp_path, check=False)


def test_backup_writes_a_dated_copy_and_keeps_the_newest(backend, database_url, tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    ext = "sqlite3" if backend == "sqlite" else "dump"
    old = [backups / f"musrenbang-2020010{day}T013000Z.{ext}" for day in (1, 2)]
    for path in old:
        path.write_bytes(b"old")
    (backups / "catatan.txt").write_text("not a backup")
    result = run_backup(tmp_path, database_url, backups)
    assert result.returncode == 0, result.stderr
    names = sorted(path.name for path in backups.iterdir())
    assert names[0] == "catatan.txt" and names[1] == old[1].name and len(names) == 3  # the oldest went
    new = backups / names[2]
    assert new.name.startswith("musrenbang-20") and new.suffix == f".{ext}"
    assert f"Removed the old backup {old[0]}" in result.stdout
    if backend == "sqlite":
        with sqlite3.connect(new) as copy:
            assert copy.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    else:
        assert new.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format


def test_a_failed_backup_leaves_no_file_and_deletes_nothing(backend, database_url, tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    kept = [backups / f"musrenbang-2020010{day}T013000Z.sqlite3" for day in (1, 2, 3)]
    for path in kept:
        path.write_bytes(b"old")
    result = run_backup(tmp_path, database_url, backups, flask="/bin/false", keep="1")
    assert result.returncode != 0
    assert sorted(backups.iterdir()) == kept
    assert run_backup(tmp_path, database_url, backups, keep="none").returncode == 2


def test_backup_keeps_the_objects_archive_with_its_database_copy(tmp_path):
    """With STORAGE_URL, `flask backup DEST` also writes DEST.files.tar: kept and removed together."""
    fake_flask = tmp_path / "flask"
    fake_flask.write_text('#!/bin/sh\nfor dest; do :; done\necho db > "$dest"\necho objects > "$dest.files.tar"\n')
    fake_flask.chmod(0o755)
    backups = tmp_path / "backups"
    backups.mkdir()
    old = backups / "musrenbang-20200101T013000Z.dump"
    old.write_text("old")
    Path(f"{old}.files.tar").write_text("old objects")
    result = run_backup(tmp_path, "postgresql://musrenbang@db/musrenbang", backups, flask=str(fake_flask), keep="1")
    assert result.returncode == 0, result.stderr
    [database, objects] = sorted(backups.iterdir())
    assert objects.name == f"{database.name}.files.tar" and database.suffix == ".dump"
    assert (database.read_text(), objects.read_text()) == ("db\n", "objects\n")


def load_audit():
    spec = importlib.util.spec_from_file_location("audit_script", ROOT / "scripts" / "audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VULNERABLE = {"dependencies": [
    {"name": "flask", "version": "3.1.3", "vulns": []},
    {"name": "werkzeug", "version": "3.1.9",
     "vulns": [{"id": "PYSEC-2099-1", "fix_versions": ["3.1.10"], "description": "..."}]}]}


def test_audit_fails_on_a_known_vulnerability(capsys):
    audit = load_audit()
    assert audit.judge(1, VULNERABLE, "") == 1
    out = capsys.readouterr().out
    assert "werkzeug 3.1.9: PYSEC-2099-1 (fixed in: 3.1.10)" in out and "flask" not in out.split("\n", 1)[1]


def test_audit_passes_saying_nothing_was_audited_when_the_database_is_out_of_reach(capsys):
    audit = load_audit()
    offline = "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): Max retries exceeded"
    assert audit.judge(1, None, offline) == 0
    assert "cannot be reached" in capsys.readouterr().out
    not_found = {"dependencies": [{"name": "flask", "skip_reason": "Dependency not found on PyPI and could not be audited"}]}
    assert audit.judge(0, not_found, "") == 0
    assert "NOTHING WAS AUDITED" in capsys.readouterr().out
    assert audit.judge(0, {"dependencies": [{"name": "flask", "version": "3.1.3", "vulns": []}]}, "") == 0
    assert "no known vulnerabilities in 1 pinned packages" in capsys.readouterr().out


def test_audit_reports_any_other_failure_of_pip_audit(capsys):
    assert load_audit().judge(2, None, "pip-audit: error: unrecognized arguments") == 2


def test_make_audit_fails_the_run_when_pip_audit_reports_a_vulnerability(tmp_path):
    """End to end through scripts/audit.py, with a pip-audit that reports what a real one would."""
    fake = tmp_path / "pip-audit"
    fake.write_text("#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = --output ] && out=$2; shift; done\n"
                    f"printf '%s' '{json.dumps(VULNERABLE)}' > \"$out\"\nexit 1\n")
    fake.chmod(0o755)
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "audit.py")], env={**os.environ, "PIP_AUDIT": str(fake)},
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "PYSEC-2099-1" in result.stdout


@pytest.fixture
def postgres_names():
    """A role and database name for setup-postgresql.sh, dropped afterwards."""
    import uuid

    import psycopg

    from tests.conftest import PG_ADMIN_URL

    if not PG_ADMIN_URL:
        pytest.skip("no PostgreSQL server answered at TEST_DATABASE_URL (see tests/conftest.py)")
    name = f"mt_setup_{uuid.uuid4().hex[:8]}"
    yield PG_ADMIN_URL, name
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_setup_postgresql_creates_the_database_writes_the_url_and_migrates(postgres_names, tmp_path):
    import psycopg
    from sqlalchemy.engine import make_url

    admin_url, name = postgres_names
    server = make_url(admin_url)
    env_file = tmp_path / "env"
    env_file.write_text(f'APP_ENV=development\nFLASK_SECRET_KEY={"s" * 48}\nINSTANCE_PATH={tmp_path}/instance\n'
                        'CITY_NAME="Kota Harapan Jaya"\nDATABASE_URL=\n')
    env_file.chmod(0o600)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "APP_", "DATABASE_"))}
    env.update(DB_NAME=name, DB_USER=name, DB_HOST=server.host, DB_PORT=str(server.port or 5432), ENV_FILE=str(env_file),
               PSQL=f"psql -h {server.host} -p {server.port or 5432} -U {server.username} -d postgres",
               FLASK=FLASK, APP_USER="")
    urls = []
    for _ in range(2):  # a second run keeps the password and the data
        result = subprocess.run([str(DEPLOY / "setup-postgresql.sh")], env=env, capture_output=True, text=True,
                                check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "is at the newest migration" in result.stdout
        lines = env_file.read_text().splitlines()
        [url] = [line.removeprefix("DATABASE_URL=") for line in lines if line.startswith("DATABASE_URL=")]
        assert 'CITY_NAME="Kota Harapan Jaya"' in lines and oct(env_file.stat().st_mode & 0o777) == "0o600"
        urls.append(url)
    assert urls[0] == urls[1] and urls[0].startswith(f"postgresql://{name}:")
    with psycopg.connect(urls[0]) as connection:
        assert connection.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
        owner = connection.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                                   (name,)).fetchone()
        assert owner == (name,)
