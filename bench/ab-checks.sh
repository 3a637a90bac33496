#!/usr/bin/env bash
# A/B of the check paths between two onshi binaries on the same data: rounds of number and card
# checks against each server, on SQLite and PostgreSQL, with the server's CPU per check. Odd
# rounds run A then B, even rounds B then A, so the database's growth (every check adds audit
# entries) does not favour the side that runs first. The load generator is the B binary for
# both (the wire is the same), so only the server differs.
#
#   bench/ab-checks.sh A_BINARY B_BINARY [MEMBERS] [ROUNDS]     (default 200000 members, 3 rounds)
#
# Environment: PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), REQUESTS (default
# 20000), CONCURRENCY (default 32), CARDS (default 16). Prints one JSON line per run and a
# summary of medians per binary.
set -euo pipefail
A="$1"; B="$2"; N="${3:-200000}"; ROUNDS="${4:-3}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REQUESTS="${REQUESTS:-20000}"; CONCURRENCY="${CONCURRENCY:-32}"; CARDS="${CARDS:-16}"
WORK="$(mktemp -d)"; RESULTS="$WORK/ab.jsonl"; PORT=18290
PGNAME="onshi_ab_$$"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $PGNAME WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export ONSHI_LOG=warn ONSHI_MY_NUMBER_KEY="$(printf 'ab%.0s' $(seq 32))"
CSV="$WORK/members.csv"
"$B" gen insurers --out "$WORK/insurers.csv" >/dev/null
"$B" gen members --count "$N" --out "$CSV" >/dev/null
awk -F, 'NR>1 && $13!="" && $11=="" && $9=="1" {c[$13]++; if (c[$13]==1) o[++n]=$13} END {k=0; for (i=1;i<=n && k<'"$CARDS"';i++) if (c[o[i]]==1) {print o[i]; k++}}' "$CSV" >"$WORK/holders"
psql -q "$PG_URL" -c "CREATE DATABASE $PGNAME"
for BACKEND in sqlite postgresql; do
  if [ "$BACKEND" = sqlite ]; then DB="sqlite:$WORK/onshi.db"; else DB="${PG_URL%/*}/$PGNAME"; fi
  "$B" insurer add --from "$WORK/insurers.csv" --db "$DB" >/dev/null 2>&1
  "$B" import members "$CSV" --db "$DB" >/dev/null
  rm -rf "$WORK/pki" "$WORK/cards"; mkdir -p "$WORK/cards"
  "$B" pki init --dir "$WORK/pki" >/dev/null
  TOKEN=$("$B" facility add --code 1311234567 --name ab --db "$DB" 2>/dev/null | cut -f2)
  i=0
  while read -r MN; do
    i=$((i + 1))
    "$B" pki issue --dir "$WORK/pki" --my-number "$MN" --label "h$i" --out "$WORK/cards/$i.json" --db "$DB" >/dev/null
  done <"$WORK/holders"
  CARD_ARGS=(); for c in "$WORK"/cards/*.json; do CARD_ARGS+=(--card "$c"); done
  REGISTERED=0
  for ROUND in $(seq 1 "$ROUNDS"); do
    ORDER="A B"; [ $((ROUND % 2)) = 0 ] && ORDER="B A"
    for SIDE in $ORDER; do
      BIN="$A"; [ "$SIDE" = B ] && BIN="$B"
      PORT=$((PORT + 1)); SERVER="http://127.0.0.1:$PORT"
      ONSHI_CHECK_LIMIT=0 ONSHI_MISMATCH_LIMIT=0 "$BIN" serve --db "$DB" --listen "127.0.0.1:$PORT" --card-root "$WORK/pki/card-ca.pem" \
        --smartphone-root "$WORK/pki/smartphone-ca.pem" --crl "$WORK/pki/card.crl" --crl "$WORK/pki/smartphone.crl" >/dev/null 2>&1 &
      PID=$!
      for _ in $(seq 1 100); do curl -sf "$SERVER/healthz" >/dev/null && break; sleep 0.2; done
      if [ "$REGISTERED" = 0 ]; then
        for c in "$WORK"/cards/*.json; do "$B" register --server "$SERVER" --card "$c" --pin 1234 >/dev/null; done
        REGISTERED=1
      fi
      for P in number card; do
        if [ "$P" = number ]; then EXTRA=(--keys "$CSV"); else EXTRA=("${CARD_ARGS[@]}"); fi
        OUT=$("$B" loadgen --server "$SERVER" --facility-token "$TOKEN" --path "$P" --requests "$REQUESTS" \
          --concurrency "$CONCURRENCY" --json --cpu-of "server=$PID" "${EXTRA[@]}")
        echo "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); d.update(side='$SIDE', backend='$BACKEND', round=$ROUND); print(json.dumps(d))" | tee -a "$RESULTS"
      done
      kill "$PID"; wait "$PID" 2>/dev/null || true
    done
  done
done
python3 - "$RESULTS" <<'PY'
import json, sys, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| backend | path | side | checks/s (median) | p99 ms (median) | server µs/check (median) | errors |")
print("|---|---|---|---|---|---|---|")
for b in ("sqlite", "postgresql"):
    for p in ("number", "card"):
        for s in ("A", "B"):
            r = [x for x in rows if x["backend"] == b and x["path"] == p and x["side"] == s]
            if not r: continue
            cpu = [x["cpu_us_per_check"].get("server") for x in r if x["cpu_us_per_check"].get("server") is not None]
            print(f"| {b} | {p} | {s} | {st.median(x['per_second'] for x in r):.0f} | {st.median(x['p99_ms'] for x in r):.1f} | "
                  f"{st.median(cpu):.0f} | {sum(x['errors'] for x in r)} |" if cpu else "")
PY
