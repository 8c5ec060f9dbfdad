#!/usr/bin/env bash
# Runs each test program in its own process and prints one summary line.
# A program exits 0 on success, 77 to skip (with its reason on stdout).
set -u
pass=0; fail=0; skip=0; failed=()
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  name=$(basename "$t")
  if [ $rc -eq 0 ]; then pass=$((pass+1)); echo "PASS $name"
  elif [ $rc -eq 77 ]; then skip=$((skip+1)); echo "SKIP $name: $(printf '%s' "$out" | tail -n1)"
  else fail=$((fail+1)); failed+=("$name"); echo "FAIL $name (exit $rc)"; printf '%s\n' "$out" | tail -n 30 | sed 's/^/    /'
  fi
done
echo "c-tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
