#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), one after another, from its corpus
# (seeded by seed-corpus.sh when empty), and prints one summary line per target. Exits non-zero
# on the first crash, leaving the input in fuzz/artifacts/<target>/.
# Usage: fuzz/run-all.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
[ -d corpus ] || bash seed-corpus.sh
mkdir -p logs
for t in "${targets[@]}"; do
    log="logs/$t.log"
    # -rss_limit_mb bounds memory per input; -timeout flags any input slower than 10 s.
    if ! cargo +nightly fuzz run -O "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        echo "CRASH in $t: see fuzz/$log and fuzz/artifacts/$t/" >&2
        grep -E "panicked|ERROR|SUMMARY" "$log" | head -5 >&2
        exit 1
    fi
    done_line=$(grep -E "^#[0-9]+\s+DONE" "$log" | tail -1)
    runs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$")
    echo "$t: runs=$runs $(echo "$done_line" | grep -oE "cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+") $(echo "$done_line" | grep -oE "exec/s: [0-9]+") crashes=0"
done
