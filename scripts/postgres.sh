#!/usr/bin/env bash
# Installs (if missing) and starts the machine's PostgreSQL 15, then creates the test role (CREATEDB,
# CREATEROLE) and database.
# Writes the URL to .pg_test_url for the test suite. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f .pg_test_url
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q postgresql >/dev/null
  else
    echo "pg_ctlcluster not found and not root: skipping PostgreSQL"; exit 1
  fi
fi
ver=$(pg_lsclusters -h 2>/dev/null | awk 'NR==1{print $1}')
name=$(pg_lsclusters -h 2>/dev/null | awk 'NR==1{print $2}')
if [ -z "$ver" ]; then
  pg_createcluster 15 main >/dev/null; ver=15; name=main
fi
if ! pg_lsclusters -h | awk -v v="$ver" -v n="$name" '$1==v && $2==n {print $4}' | grep -q online; then
  pg_ctlcluster "$ver" "$name" start
fi
port=$(pg_lsclusters -h | awk -v v="$ver" -v n="$name" '$1==v && $2==n {print $3}')
for _ in $(seq 1 30); do
  su postgres -c "psql -p $port -tAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -q" <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'arrears_test') THEN
    CREATE ROLE arrears_test LOGIN PASSWORD 'arrears_test' CREATEDB;
  END IF;
END \$\$;
-- the audit tests create an application role (arrears db roles) and drop it again
ALTER ROLE arrears_test CREATEROLE;
SQL
if ! su postgres -c "psql -p $port -tAc \"select 1 from pg_database where datname='arrears_test'\"" | grep -q 1; then
  su postgres -c "createdb -p $port -O arrears_test arrears_test"
fi
echo "postgresql+psycopg://arrears_test:arrears_test@127.0.0.1:$port/arrears_test" > .pg_test_url
echo "PostgreSQL $ver/$name ready on port $port"
