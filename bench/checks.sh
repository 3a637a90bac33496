#!/usr/bin/env bash
# Eligibility checks per second over HTTP, number path and card path, on SQLite and PostgreSQL.
# Registry: 100,000 synthetic members. Server and load generator share this machine.
#
#   bench/checks.sh [REQUESTS] [CONCURRENCY]      (defaults 10000, 32; PG_URL as in import.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
REQ="${1:-10000}"
CONC="${2:-32}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
WORK="$(mktemp -d)"
DB="onshi_bench_checks_$$"
cleanup() { kill "$(jobs -p)" 2>/dev/null || true; psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
cargo build --release -q
O=target/release/onshi
export ONSHI_LOG=warn ONSHI_MY_NUMBER_KEY="$(printf 'cd%.0s' $(seq 32))"
$O gen insurers --out "$WORK/insurers.csv" >/dev/null
$O gen members --count 100000 --out "$WORK/members.csv" >/dev/null
$O pki init --dir "$WORK/pki" >/dev/null
# A person with one qualification, in force, with a My Number.
read -r MN KEY < <(awk -F, 'NR>1 && $13!="" && $11=="" && $9=="1" && !seen[$13]++ {print $13, $1","$2","$3","$4; exit}' "$WORK/members.csv")

bench() { # name db-url port
  local name=$1 db=$2 port=$3 server="http://127.0.0.1:$3"
  $O insurer add --from "$WORK/insurers.csv" --db "$db" >/dev/null 2>&1
  $O import members "$WORK/members.csv" --db "$db" >/dev/null
  local token
  token=$($O facility add --code 1311234567 --name bench --db "$db" 2>/dev/null | cut -f2)
  $O pki issue --dir "$WORK/pki" --my-number "$MN" --out "$WORK/card-$name.json" --db "$db" >/dev/null
  $O serve --db "$db" --listen "127.0.0.1:$port" --card-root "$WORK/pki/card-ca.pem" \
    --smartphone-root "$WORK/pki/smartphone-ca.pem" --crl "$WORK/pki/card.crl" --crl "$WORK/pki/smartphone.crl" >/dev/null &
  local pid=$!
  for _ in $(seq 1 50); do curl -sf "$server/healthz" >/dev/null && break; sleep 0.2; done
  $O register --server "$server" --card "$WORK/card-$name.json" --pin 1234 >/dev/null
  echo "== $name"
  $O loadgen --server "$server" --facility-token "$token" --path number --key "$KEY" --requests "$REQ" --concurrency "$CONC"
  $O loadgen --server "$server" --facility-token "$token" --path card --card "$WORK/card-$name.json" --requests "$REQ" --concurrency "$CONC"
  $O audit verify --db "$db"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
bench sqlite "sqlite:$WORK/onshi.db" 18181
psql -q "$PG_URL" -c "CREATE DATABASE $DB"
bench postgresql "${PG_URL%/*}/$DB" 18182
