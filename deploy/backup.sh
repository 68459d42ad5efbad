#!/bin/sh
# One backup of the Musrenbang Tematik database, attachments included (`flask backup`), to a dated
# file in BACKUP_DIR; then only the newest BACKUP_KEEP backups are kept.
#
#   BACKUP_DIR   where the backups go (default /var/backups/musrenbang)
#   BACKUP_KEEP  how many to keep (default 14)
#   FLASK        the flask command (default /opt/musrenbang/.venv/bin/flask)
#   APP_DIR      the app's checkout (default: the folder above this script)
#
# Run by musrenbang-backup.service with /etc/musrenbang/env; by hand:
#   systemctl start musrenbang-backup   (the env file is readable by root only)
# A backup that fails leaves no file behind and deletes no older one; the exit status says so.
set -eu

dir="${BACKUP_DIR:-/var/backups/musrenbang}"
keep="${BACKUP_KEEP:-14}"
flask="${FLASK:-/opt/musrenbang/.venv/bin/flask}"
case "$keep" in
  ''|*[!0-9]*|0) echo "BACKUP_KEEP must be a whole number of backups above 0, not '$keep'" >&2; exit 2 ;;
esac
# pg_dump writes its custom archive format (pg_restore reads it); SQLite a database file.
case "${DATABASE_URL:-}" in
  postgres://*|postgresql://*|postgresql+*) ext=dump ;;
  *) ext=sqlite3 ;;
esac

cd "${APP_DIR:-$(dirname "$0")/..}"
mkdir -p "$dir"
name="musrenbang-$(date -u +%Y%m%dT%H%M%SZ).$ext"
# Written in a folder of its own first (SQLite may leave -wal/-shm files beside it), then moved in
# whole: a half-written backup never carries a backup's name.
partial="$dir/.partial.$$"
trap 'rm -rf "$partial"' EXIT
mkdir "$partial"
"$flask" --app app backup "$partial/$name"
# With STORAGE_URL (files in a bucket), `flask backup` writes the objects to NAME.files.tar
# beside the database copy: the two travel, and are removed, together.
if [ -f "$partial/$name.files.tar" ]; then
  mv "$partial/$name.files.tar" "$dir/$name.files.tar"
fi
mv "$partial/$name" "$dir/$name"

# Dated names sort by time: everything before the newest $keep goes.
ls -1 "$dir" | grep -E '^musrenbang-[0-9]{8}T[0-9]{6}Z\.(sqlite3|dump)$' | sort | head -n "-$keep" |
  while read -r old; do rm -f "$dir/$old" "$dir/$old.files.tar"; echo "Removed the old backup $dir/$old"; done
echo "Backup written: $dir/$name (keeping the newest $keep)"
