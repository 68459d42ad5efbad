"""The `flask` commands of DESIGN §6 that belong to the foundation."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _, ngettext
from sqlalchemy import func, select

from participation.auth import services
from participation.events import Actor
from participation.extensions import db
from participation.models import Role, StoredFile, User


def register_cli(app) -> None:
    """Attach the commands to `app`."""
    from participation.demo import seed_demo_command

    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(import_businesses_command)
    app.cli.add_command(import_proposals_command)
    app.cli.add_command(import_follow_up_command)
    app.cli.add_command(export_ranking_command)
    app.cli.add_command(print_documents_command)
    app.cli.add_command(run_jobs_command)
    app.cli.add_command(send_notifications_command)
    from participation.intake.place_matching import match_places_command
    from participation.privacy.commands import prune_audit_ips_command

    app.cli.add_command(match_places_command)

    app.cli.add_command(prune_audit_ips_command)
    from participation.storage_commands import COMMANDS as storage_commands

    for command in storage_commands:  # move-files-to-storage, move-files-to-database, sweep-storage
        app.cli.add_command(command)


@click.command("create-user")
@with_appcontext
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--email", required=True)
@click.option("--name", required=True)
def create_user_command(role: str, email: str, name: str) -> None:
    """Create an account; the password comes from a prompt or PARTICIPATION_PASSWORD."""
    password = os.environ.get("PARTICIPATION_PASSWORD")
    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = services.create_user(Actor.cli(), email=email, name=name.strip(), role=Role(role), password=password)
    except services.EmailTaken:
        raise click.ClickException(f"an account with email {email!r} already exists") from None
    except services.WeakPassword as error:
        raise click.ClickException("the password was refused: " + " ".join(error.problems)) from None
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")
    if user.role.is_staff:
        click.echo("Two-step verification (an authenticator app) is set up at the account's first sign-in.")


@click.command("backup")
@with_appcontext
@click.argument("dest", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def backup_command(dest: Path) -> None:
    """Write a consistent copy of the live database to DEST while the app keeps running.

    The copy carries the attachments too: they are rows of `stored_files`, not files on this host;
    those kept in the object store (STORAGE_URL) are copied into DEST.files.tar beside it.
    """
    url = db.engine.url
    dest.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise click.ClickException("an in-memory database cannot be backed up")
        source = sqlite3.connect(url.database, timeout=current_app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000)
        target = sqlite3.connect(dest)
        with target:
            source.backup(target)  # SQLite's online backup API: a consistent snapshot
        target.close()
        source.close()
    elif url.get_backend_name() == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise click.ClickException("pg_dump is not installed; install postgresql-client")
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        # pg_dump runs in one repeatable-read snapshot: consistent while the app writes.
        result = subprocess.run([pg_dump, "--format=custom", "--file", str(dest), plain],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise click.ClickException("pg_dump failed: " + result.stderr.strip())
    else:
        raise click.ClickException(f"no backup method for {url.get_backend_name()}")
    users = db.session.scalar(select(func.count(User.id)))
    files = db.session.scalar(select(func.count(StoredFile.id)))
    click.echo(f"Backed up the database ({users} accounts, {files} stored files) to {dest}.")
    from participation.storage_commands import back_up_files

    copied = back_up_files(dest)  # files kept in an object store go to DEST.files.tar
    if copied:
        click.echo(copied)


@click.command("restore")
@with_appcontext
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(src: Path) -> None:
    """Restore a backup from `flask backup` into the configured database, which must be empty.

    Refuses a database that holds data, a file that is not a backup of this engine's kind, and a
    damaged or truncated one, changing nothing (participation/restore.py says what "empty" means).
    """
    from participation.restore import RestoreError, restore_backup
    from participation.storage_commands import restore_files

    try:
        restored = restore_backup(src)
    except RestoreError as error:
        raise click.ClickException(str(error)) from None
    click.echo(_("Restored %(file)s: %(accounts)d accounts, %(proposals)d proposals, %(files)d stored files.",
                 file=src, accounts=restored.accounts, proposals=restored.proposals, files=restored.files))
    moved = restore_files(src)  # the files the backup took out of an object store, in SRC.files.tar
    if moved:
        click.echo(moved)
    if restored.needs_upgrade:
        click.echo(_("The backup's schema is at revision %(revision)s, older than this release's %(head)s: run "
                     "`flask db upgrade` before starting the app.", revision=restored.revision, head=restored.head))
    else:
        click.echo(_("The schema is at this release's revision %(head)s; the app can start.", head=restored.head))


def _run_import(path: Path, label: str, run) -> None:
    """Read the file, run the import with a progress bar, print the row report, commit or not."""
    from participation.intake import imports

    data = path.read_bytes()
    try:
        with click.progressbar(length=imports.estimate_rows(path.name, data), label=label,
                               file=sys.stderr) as bar:
            result = run(path.name, data, bar.update)
    except imports.ImportFileError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    if not result.ok:
        db.session.rollback()
        row, column, problem = _("Row"), _("Column"), _("Problem")  # pybabel skips f-string calls
        click.echo(f"{row:>6}  {column:<24} {problem}", err=True)
        for error in result.errors:
            click.echo(f"{error.row:>6}  {error.column:<24} {error.message}", err=True)
        raise click.ClickException(ngettext(
            "%(num)d problem found; nothing was imported.", "%(num)d problems found; nothing was imported.",
            len(result.errors)))
    db.session.commit()
    return result


@click.command("import-businesses")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_businesses_command(file: Path) -> None:
    """Import businesses from CSV or XLSX; duplicates merge by NIB and normalised name."""
    from participation.intake import imports

    def run(name, data, progress):
        return imports.import_businesses(name, data, Actor.cli(), progress=progress)

    result = _run_import(file, _("Importing businesses"), run)
    click.echo(_("%(rows)d rows imported: %(created)d new businesses, %(merged)d merged into existing ones.",
                 rows=result.rows, created=result.created, merged=result.merged))


@click.command("import-proposals")
@click.argument("session_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_proposals_command(session_id: int, file: Path) -> None:
    """Import proposals into a session from CSV or XLSX; all rows or none."""
    from participation.intake import imports
    from participation.models import ThemedSession

    themed_session = db.session.get(ThemedSession, session_id)
    if themed_session is None:
        raise click.ClickException(f"no session with id {session_id}")

    def run(name, data, progress):
        return imports.import_proposals(themed_session, name, data, Actor.cli(), progress=progress)

    result = _run_import(file, _("Importing proposals"), run)
    click.echo(_("%(n)d proposals imported and submitted; %(flagged)d look like near-duplicates.",
                 n=result.created, flagged=result.flagged))


@click.command("import-follow-up")
@click.argument("session_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_follow_up_command(session_id: int, file: Path) -> None:
    """Import dated follow-up updates of a finalised session's funded proposals from CSV or XLSX; all rows or none."""
    from participation.followup import imports
    from participation.followup.services import ensure_follow_ups
    from participation.models import ThemedSession

    themed_session = db.session.get(ThemedSession, session_id)
    if themed_session is None:
        raise click.ClickException(f"no session with id {session_id}")
    ensure_follow_ups(themed_session, Actor.cli())  # a session finalised before follow-up existed

    def run(name, data, progress):
        return imports.import_follow_up(themed_session, name, data, Actor.cli(), progress=progress)

    result = _run_import(file, _("Importing follow-up"), run)  # a refused session is a ClickException too
    click.echo(_("%(n)d follow-up updates imported.", n=result.created))


@click.command("export-ranking")
@click.argument("session_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx", "sipd"]), default="json", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write to this file; json and csv go to standard output without it.")
@with_appcontext
def export_ranking_command(session_id: int, fmt: str, output: Path | None) -> None:
    """The session's ranked list (DESIGN §7), or with sipd its funded proposals in SIPD's layout (§10);
    a finalised session exports its latest snapshot."""
    from participation.models import ThemedSession
    from participation.review import exports

    themed_session = db.session.get(ThemedSession, session_id)
    if themed_session is None:
        raise click.ClickException(f"no session with id {session_id}")
    if fmt in ("xlsx", "sipd") and output is None:
        raise click.ClickException(f"{fmt} writes an XLSX workbook, which is binary: give --output FILE")
    body, _mimetype = exports.render(exports.current_payload(themed_session), fmt, themed_session)
    if output is None:
        click.echo(body, nl=False)  # bytes go to the binary stream unchanged
    else:
        output.write_bytes(body)
        click.echo(f"Wrote {output}.", err=True)


@click.command("print-documents")
@click.argument("session_id", type=int)
@click.option("--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for invitations.pdf, agenda.pdf, attendance.pdf and minutes.pdf.")
@with_appcontext
def print_documents_command(session_id: int, output: Path) -> None:
    """Write the session's four documents as A4 PDFs, the same the facilitator prints from the web."""
    from participation.documents import render
    from participation.documents.services import letterhead
    from participation.models import ThemedSession

    themed_session = db.session.get(ThemedSession, session_id)
    if themed_session is None:
        raise click.ClickException(f"no session with id {session_id}")
    output.mkdir(parents=True, exist_ok=True)
    head = letterhead()
    for slug, (name, _template) in render.DOCUMENTS.items():
        target = output / f"{name}.pdf"
        target.write_bytes(render.pdf(themed_session, slug, head))
        click.echo(f"Wrote {target}")


def _work(once: bool, poll: float):
    """The one worker loop (participation.jobs.work): jobs, messages and the daily housekeeping."""
    import signal

    from participation import jobs

    # Stopped between or during jobs: a job cut short rolls back and is taken up again after its
    # lease; messages claimed and not yet sent go back to the queue.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        return jobs.work(poll_seconds=poll, once=once)
    except KeyboardInterrupt:
        return None


@click.command("run-jobs")
@click.option("--once", is_flag=True, help="Run what is due, then exit.")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between looks at the queue.")
@with_appcontext
def run_jobs_command(once: bool, poll: float) -> None:
    """The background worker: queued jobs (large imports and PDFs) and the notifications;
    `make run` starts one beside gunicorn. The same loop as `flask send-notifications`."""
    worked = _work(once, poll)
    if once and worked is not None:
        click.echo(ngettext("%(num)d job run.", "%(num)d jobs run.", worked.jobs))
        if worked.messages:
            click.echo(ngettext("%(num)d message sent.", "%(num)d messages sent.", worked.messages))


@click.command("send-notifications")
@click.option("--once", is_flag=True, help="Send what is due, then exit.")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between looks at the queue.")
@with_appcontext
def send_notifications_command(once: bool, poll: float) -> None:
    """Deliver pending notifications (SMTP when MAIL_SERVER is set, otherwise .eml files under
    instance/mail/), with retries and backoff. The same worker loop as `flask run-jobs`: it runs
    the queued jobs too, so one worker process does both."""
    worked = _work(once, poll)
    if once and worked is not None:
        click.echo(ngettext("%(num)d message sent.", "%(num)d messages sent.", worked.messages))
        if worked.jobs:
            click.echo(ngettext("%(num)d job run.", "%(num)d jobs run.", worked.jobs))
