#!/usr/bin/env bash
# Backs up the ClipMaker database with pg_dump (custom format: compressed, restorable table by table,
# parallel restore), verifies the dump is readable, writes a .sha256 beside it, and prunes dumps older
# than the retention. Run it from cron / a systemd timer / a Kubernetes CronJob (docs/OPERATIONS.md).
#
#   scripts/backup.sh [DATABASE_URL]
#
# Environment: DATABASE_URL (unless given as the argument), BACKUP_DIR (default ./backups),
# BACKUP_RETENTION_DAYS (default 14; 0 keeps everything). Needs pg_dump/pg_restore of the server's
# major version or newer. Prints the path of the new dump on stdout.
set -euo pipefail

url="${1:-${DATABASE_URL:-}}"
if [ -z "$url" ]; then
  echo "backup: give a DATABASE_URL (argument or environment)" >&2
  exit 2
fi
dir="${BACKUP_DIR:-./backups}"
days="${BACKUP_RETENTION_DAYS:-14}"
case "$days" in (*[!0-9]*|'') echo "backup: BACKUP_RETENTION_DAYS must be a whole number of days" >&2; exit 2;; esac

mkdir -p "$dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
final="$dir/clipmaker-$stamp.dump"
partial="$dir/.clipmaker-$stamp.dump.partial"
trap 'rm -f "$partial"' EXIT

# A consistent snapshot of the whole database (pg_dump runs in one repeatable-read transaction);
# ownership and grants are left out so the dump restores under any role.
pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$partial" "$url"
# A dump that cannot be listed is not a backup.
pg_restore --list "$partial" >/dev/null
mv "$partial" "$final"
(cd "$dir" && sha256sum "$(basename "$final")" > "$(basename "$final").sha256")

if [ "$days" -gt 0 ]; then
  find "$dir" -maxdepth 1 -type f \( -name 'clipmaker-*.dump' -o -name 'clipmaker-*.dump.sha256' \) -mmin "+$((days * 1440))" -print -delete >&2
fi
echo "$final"
