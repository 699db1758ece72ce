#!/usr/bin/env bash
# Restores a dump made by scripts/backup.sh into a NEW database (never over a live one): creates it,
# checks the checksum, restores in one transaction (all or nothing), and prints the row count of every
# table so it can be compared with the source. Then point DATABASE_URL at it (docs/OPERATIONS.md).
#
#   scripts/restore.sh <dump> <target DATABASE_URL>
#
# The target database must not exist yet, or exist and be empty. The server's maintenance database
# (`postgres`, or RESTORE_ADMIN_DB) is used to create it.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: scripts/restore.sh <dump> <target DATABASE_URL>" >&2
  exit 2
fi
dump="$1"
url="$2"
[ -f "$dump" ] || { echo "restore: no such dump: $dump" >&2; exit 2; }
if [ -f "$dump.sha256" ]; then
  (cd "$(dirname "$dump")" && sha256sum --check --status "$(basename "$dump").sha256") || { echo "restore: checksum mismatch for $dump" >&2; exit 1; }
fi

# postgres://user:pw@host:port/dbname?params -> dbname, and the same URL on the maintenance database.
base="${url%%\?*}"
query=""
[ "$base" != "$url" ] && query="?${url#*\?}"
db="${base##*/}"
if ! [[ "$db" =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]]; then
  echo "restore: target database name must be a plain identifier, got '$db'" >&2
  exit 2
fi
admin="${base%/*}/${RESTORE_ADMIN_DB:-postgres}$query"

exists="$(psql "$admin" -XAtqc "select 1 from pg_database where datname = '$db'")"
if [ "$exists" = "1" ]; then
  tables="$(psql "$url" -XAtqc "select count(*) from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')")"
  if [ "$tables" != "0" ]; then
    echo "restore: database '$db' already has $tables tables; restore into a new database instead" >&2
    exit 1
  fi
else
  psql "$admin" -XqAtc "create database \"$db\""
fi

pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$url" "$dump"

# Exact row counts per table, for comparing with the source (`scripts/restore.sh` output vs. the live db).
psql "$url" -XAtq -F ' ' <<'SQL'
select format('%I.%I', table_schema, table_name),
       (xpath('/row/n/text()', query_to_xml(format('select count(*) as n from %I.%I', table_schema, table_name), false, true, '')))[1]::text::bigint
from information_schema.tables
where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
order by 1;
SQL
