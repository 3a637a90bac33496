#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and prints executions and findings per target.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
#
# Needs a nightly toolchain and cargo-fuzz (`rustup toolchain install nightly`,
# `cargo install cargo-fuzz`). Each target starts from its seeds (fuzz/seed.sh) and the inputs
# earlier runs kept in fuzz/corpus/<target>/ (not committed); a crash is written to
# fuzz/artifacts/<target>/ and named in the summary: reproduce it with
# `cargo +nightly fuzz run <target> <file>`, fix it, and keep it as a regression test.
set -uo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(xmlmsg member_csv certificate crl card_proof api_json checkup_archive)
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz/run.sh needs a nightly toolchain and cargo-fuzz: rustup toolchain install nightly; cargo install cargo-fuzz" >&2
  exit 2
fi
cargo +nightly fuzz build -O || exit 2
printf '| target | seconds | executions | exec/s | corpus | findings |\n|---|---|---|---|---|---|\n'
STATUS=0
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  before=$(ls "artifacts/$t" | wc -l)
  log=$(mktemp)
  cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$SECONDS_EACH" \
    -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  after=$(ls "artifacts/$t" | wc -l)
  found=$((after - before))
  [ "$found" -gt 0 ] && STATUS=1 && grep -E "panicked|ERROR: " "$log" | head -3 >&2
  printf '| %s | %s | %s | %s | %s | %s |\n' "$t" "$SECONDS_EACH" "${execs:-?}" "${rate:-?}" \
    "$(ls "corpus/$t" | wc -l)" "$found"
  rm -f "$log"
done
exit $STATUS
