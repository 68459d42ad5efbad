#!/bin/sh
# Create the PostgreSQL role and database of Musrenbang Tematik, write DATABASE_URL into the env
# file, and bring the new database to the newest migration. Run as root on the database host
# (or on the app host with PGHOST set); running it again keeps the role's password and the data.
#
#   DB_NAME   database (default musrenbang)         DB_USER  role (default musrenbang)
#   DB_HOST   host the app connects to (default 127.0.0.1), DB_PORT (default 5432)
#   ENV_FILE  the units' environment (default /etc/musrenbang/env)
#   PSQL      how to reach PostgreSQL as a superuser (default: sudo -u postgres psql)
#   FLASK     the flask command (default /opt/musrenbang/.venv/bin/flask), APP_USER (musrenbang):
#             `flask db upgrade` runs as this user; APP_USER= (empty) runs it as the caller
set -eu

db_name="${DB_NAME:-musrenbang}"
db_user="${DB_USER:-musrenbang}"
db_host="${DB_HOST:-127.0.0.1}"
db_port="${DB_PORT:-5432}"
env_file="${ENV_FILE:-/etc/musrenbang/env}"
psql="${PSQL:-sudo -u postgres psql}"
flask="${FLASK:-/opt/musrenbang/.venv/bin/flask}"
app_user="${APP_USER-musrenbang}"
app_dir="${APP_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"

for name in "$db_name" "$db_user"; do
  case "$name" in
    ''|*[!a-z0-9_]*) echo "database and role names are lower-case letters, digits and _, not '$name'" >&2; exit 2 ;;
  esac
done
[ -f "$env_file" ] || { echo "$env_file does not exist; copy deploy/env.example there first" >&2; exit 2; }

sql() { $psql -v ON_ERROR_STOP=1 -X -q -t -A "$@"; }

# The password is kept when the env file already has one for this role (a second run changes nothing).
password=$(sed -n "s|^DATABASE_URL=postgresql://$db_user:\([A-Za-z0-9_-]*\)@.*|\1|p" "$env_file" | tail -n 1)
[ -n "$password" ] || password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')

if [ "$(sql -c "SELECT 1 FROM pg_roles WHERE rolname = '$db_user'")" = "1" ]; then
  sql -c "ALTER ROLE \"$db_user\" WITH LOGIN PASSWORD '$password'"
else
  sql -c "CREATE ROLE \"$db_user\" WITH LOGIN PASSWORD '$password'"
fi
if [ "$(sql -c "SELECT 1 FROM pg_database WHERE datname = '$db_name'")" != "1" ]; then
  sql -c "CREATE DATABASE \"$db_name\" OWNER \"$db_user\" ENCODING 'UTF8' TEMPLATE template0"
fi
# Only the owner may connect or create objects in the public schema.
sql -c "REVOKE ALL ON DATABASE \"$db_name\" FROM PUBLIC"
sql -d "$db_name" -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC" -c "ALTER SCHEMA public OWNER TO \"$db_user\""

url="postgresql://$db_user:$password@$db_host:$db_port/$db_name"
# Replace the DATABASE_URL line (or add one), keeping the file's owner and mode.
tmp="$env_file.tmp.$$"
cp -p "$env_file" "$tmp"
{ grep -v '^DATABASE_URL=' "$env_file" || true; echo "DATABASE_URL=$url"; } > "$tmp"
mv "$tmp" "$env_file"
echo "DATABASE_URL for $db_user@$db_host:$db_port/$db_name written to $env_file"

# The migration runs with the units' environment (APP_ENV, FLASK_SECRET_KEY...) and the new URL.
set -a
. "$env_file"
set +a
cd "$app_dir"
if [ -n "$app_user" ]; then
  runuser -u "$app_user" -- "$flask" --app app db upgrade
else
  "$flask" --app app db upgrade
fi
echo "The database $db_name is at the newest migration."
