#!/usr/bin/env bash
# Import throughput: generate N synthetic members, import them into a fresh SQLite file and a
# fresh PostgreSQL database, then import the same file again (the no-change path), and time
# PostgreSQL's own COPY of the same CSV into a bare table for comparison.
#
#   bench/import.sh [ROWS]        (default 1000000; PG_URL defaults to the local server)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-1000000}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cargo build --release -q
ONSHI=target/release/onshi
export ONSHI_LOG=warn ONSHI_MY_NUMBER_KEY="$(printf 'ab%.0s' $(seq 32))"

echo "rows: $ROWS   machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
$ONSHI gen insurers --out "$WORK/insurers.csv" >/dev/null
/usr/bin/time -f "generate: %e s, peak RSS %M KiB" $ONSHI gen members --count "$ROWS" --out "$WORK/members.csv" >/dev/null
ls -l "$WORK/members.csv" | awk '{printf "file: %.0f MB\n", $5/1e6}'

run() { # backend url
  $ONSHI insurer add --from "$WORK/insurers.csv" --db "$2" >/dev/null 2>&1
  for pass in first again; do
    /usr/bin/time -f "$1 $pass: peak RSS %M KiB" $ONSHI import members "$WORK/members.csv" --db "$2" 2>&1 | sed "s|$WORK/||"
  done
}
run sqlite "sqlite:$WORK/onshi.db"

DB="onshi_bench_$$"
psql -q "$PG_URL" -c "CREATE DATABASE $DB"
PG_DB_URL="${PG_URL%/*}/$DB"
run postgresql "$PG_DB_URL"
psql -q "$PG_DB_URL" -c "CREATE TABLE bare (insurer_number text, symbol text, number text, branch text, name text, name_kana text, birth_date date, sex int, relationship int, qualified_from date, qualified_until date, copay_ratio int, my_number text, loss_reason text, limit_class text, limit_bracket text, limit_issued date, limit_valid_from date, limit_valid_until date, limit_long_term_from date)"
start=$(date +%s.%N)
psql -q "$PG_DB_URL" -c "\\copy bare FROM '$WORK/members.csv' WITH (FORMAT csv, HEADER true)"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$ROWS" 'BEGIN{printf "postgresql COPY into a bare table: %.1f s, %.0f rows/s\n", e-s, n/(e-s)}'
psql -q "$PG_URL" -c "DROP DATABASE $DB WITH (FORCE)"
