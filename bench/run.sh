#!/usr/bin/env bash
# Every benchmark of BENCHMARKS.md in one run, with the machine's own limits measured in the
# same run, and the results table of BENCHMARKS.md rewritten from what was measured.
#
#   bench/run.sh [SCALE ...]            (default: 1000000 10000000 members)
#
# Environment: PG_URL (default postgres://postgres@127.0.0.1:5432/postgres; the run creates and
# drops its own databases), REQUESTS (checks per load run, default 30000), CONCURRENCY (default
# 64), CARDS (card holders on the card path, default 16), WRITE=0 to leave BENCHMARKS.md alone.
# Needs: cargo, psql, pgbench, python3, /usr/bin/time, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALES=("$@")
[ ${#SCALES[@]} -gt 0 ] || SCALES=(1000000 10000000)
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REQUESTS="${REQUESTS:-30000}"
CONCURRENCY="${CONCURRENCY:-64}"
CARDS="${CARDS:-16}"
WORK="$(mktemp -d)"
RESULTS="$WORK/results.jsonl"
PORT=18190
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  for db in $(psql -Atq "$PG_URL" -c "SELECT datname FROM pg_database WHERE datname LIKE 'onshi_bench_$$%'" 2>/dev/null); do
    psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
export ONSHI_LOG=warn ONSHI_MY_NUMBER_KEY="$(printf 'be%.0s' $(seq 32))"

echo "building (release)…" >&2
cargo build --release -q
cargo bench -q -p onshi --bench limits --no-run 2>/dev/null
LIMITS="$(ls -t target/release/deps/limits-* | grep -v '\.d$' | head -1)"
O=target/release/onshi
record() { echo "$1" >>"$RESULTS"; echo "$1" >&2; }
pgdb() { echo "${PG_URL%/*}/$1"; }

# --- the machine and its own limits -------------------------------------------------------------
record "$(python3 - <<EOF
import json, os, subprocess
cpu = next((l.split(':',1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
mem = next(int(l.split()[1]) for l in open('/proc/meminfo') if l.startswith('MemTotal'))
pg = subprocess.run(['psql','-Atq','$PG_URL','-c','SHOW server_version'], capture_output=True, text=True).stdout.strip()
print(json.dumps({"kind": "machine", "cores": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem/1048576),
                  "postgres": pg, "date": subprocess.run(['date','+%Y-%m-%d'], capture_output=True, text=True).stdout.strip()}))
EOF
)"
record "$("$LIMITS" rsa 3 | python3 -c 'import json,sys; d=json.load(sys.stdin); d["kind"]="rsa"; print(json.dumps(d))')"

PGB="onshi_bench_$$_pgbench"
psql -q "$PG_URL" -c "CREATE DATABASE $PGB"
pgbench -i -q -s 50 "$(pgdb $PGB)" >/dev/null 2>&1
TPS=$(pgbench -S -M prepared -c 32 -j 2 -T 15 "$(pgdb $PGB)" 2>/dev/null | awk '/^tps/ {print $3; exit}')
record "{\"kind\": \"pgbench\", \"select_only_prepared_tps\": $TPS, \"clients\": 32, \"scale\": 50}"
psql -q "$PG_URL" -c "DROP DATABASE $PGB WITH (FORCE)"

# --- per population ------------------------------------------------------------------------------
seconds() { python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$1" "$2"; }

for N in "${SCALES[@]}"; do
  CSV="$WORK/members-$N.csv"
  $O gen insurers --out "$WORK/insurers.csv" >/dev/null
  /usr/bin/time -f "%e %M" -o "$WORK/gen.time" $O gen members --count "$N" --out "$CSV" >/dev/null
  read -r GEN_S GEN_KB <"$WORK/gen.time"
  record "{\"kind\": \"generate\", \"members\": $N, \"seconds\": $GEN_S, \"peak_rss_kib\": $GEN_KB, \"bytes\": $(stat -c %s "$CSV")}"
  # Card holders: current insured persons with a My Number that appears once.
  awk -F, 'NR>1 && $13!="" && $11=="" && $9=="1" {c[$13]++; if (c[$13]==1) o[++n]=$13} END {k=0; for (i=1;i<=n && k<'"$CARDS"';i++) if (c[o[i]]==1) {print o[i]; k++}}' "$CSV" >"$WORK/holders"

  # PostgreSQL's COPY of the same file into a bare table: the import's yardstick.
  BARE="onshi_bench_$$_copy_$N"
  psql -q "$PG_URL" -c "CREATE DATABASE $BARE"
  psql -q "$(pgdb $BARE)" -c "CREATE TABLE bare (insurer_number text, symbol text, number text, branch text, name text, name_kana text, birth_date date, sex int, relationship int, qualified_from date, qualified_until date, copay_ratio int, my_number text, loss_reason text, limit_class text, limit_bracket text, limit_issued date, limit_valid_from date, limit_valid_until date, limit_long_term_from date, employer text)"
  T0=$(date +%s.%N)
  psql -q "$(pgdb $BARE)" -c "\\copy bare FROM '$CSV' WITH (FORMAT csv, HEADER true)"
  T1=$(date +%s.%N)
  record "{\"kind\": \"copy\", \"members\": $N, \"seconds\": $(seconds "$T0" "$T1")}"
  psql -q "$PG_URL" -c "DROP DATABASE $BARE WITH (FORCE)"

  for BACKEND in sqlite postgresql; do
    if [ "$BACKEND" = sqlite ]; then
      DB="sqlite:$WORK/onshi-$N.db"
    else
      NAME="onshi_bench_$$_$N"
      psql -q "$PG_URL" -c "CREATE DATABASE $NAME"
      DB="$(pgdb "$NAME")"
    fi
    $O insurer add --from "$WORK/insurers.csv" --db "$DB" >/dev/null 2>&1
    T0=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$WORK/import.time" $O import members "$CSV" --db "$DB" >/dev/null
    T1=$(date +%s.%N)
    record "{\"kind\": \"import\", \"backend\": \"$BACKEND\", \"members\": $N, \"seconds\": $(seconds "$T0" "$T1"), \"peak_rss_kib\": $(cat "$WORK/import.time")}"

    rm -rf "$WORK/pki" "$WORK/cards"; mkdir -p "$WORK/cards"
    $O pki init --dir "$WORK/pki" >/dev/null
    TOKEN=$($O facility add --code 1311234567 --name bench --db "$DB" 2>/dev/null | cut -f2)
    i=0
    while read -r MN; do
      i=$((i + 1))
      $O pki issue --dir "$WORK/pki" --my-number "$MN" --label "holder$i" --out "$WORK/cards/$i.json" --db "$DB" >/dev/null
    done <"$WORK/holders"
    PORT=$((PORT + 1))
    SERVER="http://127.0.0.1:$PORT"
    $O serve --db "$DB" --listen "127.0.0.1:$PORT" --card-root "$WORK/pki/card-ca.pem" \
      --smartphone-root "$WORK/pki/smartphone-ca.pem" --crl "$WORK/pki/card.crl" --crl "$WORK/pki/smartphone.crl" \
      --check-limit 0 --mismatch-limit 0 >/dev/null 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do curl -sf "$SERVER/healthz" >/dev/null && break; sleep 0.2; done
    CARD_ARGS=()
    for c in "$WORK"/cards/*.json; do
      $O register --server "$SERVER" --card "$c" --pin 1234 >/dev/null
      CARD_ARGS+=(--card "$c")
    done
    # CPU per check in the timed phase: the server, PostgreSQL (every postgres process) and the
    # load generator itself.
    CPU_OF=(--cpu-of "server=$PID")
    [ "$BACKEND" = postgresql ] && CPU_OF+=(--cpu-of postgres=postgres)
    for P in number card; do
      if [ "$P" = number ]; then EXTRA=(--keys "$CSV"); else EXTRA=("${CARD_ARGS[@]}"); fi
      OUT=$($O loadgen --server "$SERVER" --facility-token "$TOKEN" --path "$P" --requests "$REQUESTS" \
        --concurrency "$CONCURRENCY" --json "${CPU_OF[@]}" "${EXTRA[@]}")
      record "$(echo "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); d.update(kind='checks', backend='$BACKEND', members=$N); print(json.dumps(d))")"
    done
    RSS=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
    record "{\"kind\": \"server_rss\", \"backend\": \"$BACKEND\", \"members\": $N, \"peak_rss_kib\": $RSS}"
    kill "$PID"; wait "$PID" 2>/dev/null || true
    VERIFIED=$($O audit verify --db "$DB" 2>&1 | tail -1)
    record "{\"kind\": \"audit\", \"backend\": \"$BACKEND\", \"members\": $N, \"result\": \"$VERIFIED\"}"
    if [ "$BACKEND" = sqlite ]; then
      record "$("$LIMITS" sqlite-lookups "$WORK/onshi-$N.db" "$CSV" 10 "$CONCURRENCY" | python3 -c "import json,sys; d=json.load(sys.stdin); d.update(kind='sqlite_lookups', members=$N); print(json.dumps(d))")"
      rm -f "$WORK/onshi-$N.db"*
    else
      psql -q "$PG_URL" -c "DROP DATABASE $NAME WITH (FORCE)"
    fi
  done
  rm -f "$CSV"
done

cp "$RESULTS" bench/last-run.jsonl
python3 bench/report.py bench/last-run.jsonl >"$WORK/table.md"
cat "$WORK/table.md"
if [ "${WRITE:-1}" = 1 ]; then
  python3 - "$WORK/table.md" <<'EOF'
import sys, re
table = open(sys.argv[1]).read()
doc = open("BENCHMARKS.md").read()
begin, end = "<!-- results:begin -->", "<!-- results:end -->"
if begin not in doc:
    sys.exit("BENCHMARKS.md has no results markers")
head, rest = doc.split(begin, 1)
_, tail = rest.split(end, 1)
open("BENCHMARKS.md", "w").write(head + begin + "\n" + table + end + tail)
EOF
  echo "BENCHMARKS.md updated" >&2
fi
