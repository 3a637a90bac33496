#!/usr/bin/env bash
# The checkup import benchmark of BENCHMARKS.md: synthetic checkups for a synthetic population,
# imported into SQLite and PostgreSQL, against a bare quick-xml parse of the same DATA files in
# the same run.
#
#   bench/checkups.sh [MEMBERS]        (default 1450000 members: about 1 M checkups over 3 years)
#
# Environment: PG_URL (default postgres://postgres@127.0.0.1:5432/postgres; the run creates and
# drops its own database); BACKENDS (default "sqlite postgresql"); YARDSTICK=0 skips the parse
# passes. Needs: cargo, psql, python3, /usr/bin/time.
# Prints one JSON object per measurement and appends them to bench/checkups-last-run.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
MEMBERS="${1:-1450000}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
WORK="$(mktemp -d)"
PGDB="onshi_bench_ck_$$"
cleanup() {
  psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export ONSHI_LOG=warn ONSHI_MY_NUMBER_KEY="$(printf 'be%.0s' $(seq 32))"
OUT=bench/checkups-last-run.jsonl
[ -n "${BACKENDS:-}" ] || : >"$OUT"
record() { echo "$1" >>"$OUT"; echo "$1"; }

echo "building (release)…" >&2
cargo build --release -q
cargo bench -q -p onshi --bench limits --no-run 2>/dev/null
LIMITS="$(ls -t target/release/deps/limits-* | grep -v '\.d$' | head -1)"
O=target/release/onshi

record "$(python3 - <<EOF
import json, os, subprocess
cpu = next((l.split(':',1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
pg = subprocess.run(['psql','-Atq','$PG_URL','-c','SHOW server_version'], capture_output=True, text=True).stdout.strip()
print(json.dumps({"kind": "machine", "cores": os.cpu_count(), "cpu": cpu, "postgres": pg,
                  "commit": subprocess.run(['git','rev-parse','--short','HEAD'], capture_output=True, text=True).stdout.strip(),
                  "date": subprocess.run(['date','+%Y-%m-%d'], capture_output=True, text=True).stdout.strip()}))
EOF
)"

# Generate: members, then their checkups (same count, same seed).
$O gen insurers --out "$WORK/insurers.csv" >/dev/null
$O gen members --count "$MEMBERS" --out "$WORK/members.csv" >/dev/null
S=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$WORK/gen.time" $O gen checkups --count "$MEMBERS" --out "$WORK/ck" 2>/dev/null >"$WORK/gen.out"
E=$(date +%s.%N)
DOCS=$(grep -o 'wrote [0-9]*' "$WORK/gen.out" | grep -o '[0-9]*')
record "{\"kind\": \"generate\", \"members\": $MEMBERS, \"checkups\": $DOCS, \"seconds\": $(python3 -c "print($E-$S)"), \"archive_bytes\": $(du -sb "$WORK/ck" | cut -f1), \"peak_rss_kib\": $(cat "$WORK/gen.time")}"

# The yardstick: inflate, bare parse, onshi's read and validation without the store.
[ "${YARDSTICK:-1}" = 0 ] || record "$("$LIMITS" checkup-parse "$WORK/ck" | python3 -c 'import json,sys; d=json.load(sys.stdin); d["kind"]="checkup_parse"; print(json.dumps(d))')"

for backend in ${BACKENDS:-sqlite postgresql}; do
  if [ $backend = sqlite ]; then
    DB="sqlite:$WORK/onshi.db"
  else
    psql -q "$PG_URL" -c "CREATE DATABASE $PGDB"
    DB="${PG_URL%/*}/$PGDB"
  fi
  $O insurer add --from "$WORK/insurers.csv" --db "$DB" >/dev/null 2>&1
  $O import members "$WORK/members.csv" --db "$DB" >/dev/null
  S=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$WORK/import.time" $O import checkups "$WORK/ck" --db "$DB" >"$WORK/import.out"
  E=$(date +%s.%N)
  LINKED=$(grep -o 'imported .*' "$WORK/import.out" | grep -o '([0-9]* linked' | grep -o '[0-9]*' | paste -sd+ | bc)
  record "{\"kind\": \"import_checkups\", \"backend\": \"$backend\", \"checkups\": $DOCS, \"linked\": $LINKED, \"seconds\": $(python3 -c "print($E-$S)"), \"per_second\": $(python3 -c "print($DOCS/($E-$S))"), \"peak_rss_kib\": $(cat "$WORK/import.time")}"
done
