#!/bin/bash
# Runs test programs (each ends its output with "N passed, N failed, N skipped"),
# echoes their output, and prints the grand total as the last line.
# A program that dies before its summary line counts as one failure.
# Usage: tests/run-tests.sh PROGRAM...   (TEST_TIMEOUT seconds per program, default 600)
set -u

total_pass=0 total_fail=0 total_skip=0
failed_progs=()
timeout_s=${TEST_TIMEOUT:-600}

for prog in "$@"; do
    echo "# running $prog"
    out=$(mktemp)
    timeout --kill-after=10 "$timeout_s" "$prog" >"$out" 2>&1
    rc=$?
    cat "$out"
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n1)
    rm -f "$out"
    if [ -z "$summary" ]; then
        echo "# $prog ended without a summary (exit $rc)"
        total_fail=$((total_fail + 1))
        failed_progs+=("$prog")
        continue
    fi
    read -r p _ f _ s _ <<<"$summary"
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    total_skip=$((total_skip + s))
    if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then
        [ "$f" -eq 0 ] && total_fail=$((total_fail + 1))
        failed_progs+=("$prog")
    fi
done

for p in "${failed_progs[@]}"; do echo "# FAILED: $p"; done
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
