#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the module for a short time each
# (FUZZTIME, default 10s), one after another: go test -fuzz takes one target
# per run.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-10s}"
# LIMIT bounds one target's run: building, the fuzz time and a margin.
LIMIT="${FUZZLIMIT:-120s}"

grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg="./$(dirname "${file#./}")"
	grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | while read -r target; do
		echo "== fuzz $pkg $target ($FUZZTIME)"
		# The Go fuzzer's coordinator sometimes stops making progress
		# (golang/go#51484, #48820) and never returns. A hang in the code
		# under test is not that: the worker panics on any input that runs
		# over 10s, and go test fails. So a run that outlives its budget
		# by a wide margin is stopped and reported, not waited on.
		rc=0
		timeout --kill-after=10s "$LIMIT" go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" || rc=$?
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			echo "== fuzz $pkg $target: the Go fuzzer stopped reporting progress and was stopped after $LIMIT (golang/go#51484); no input failed before it"
		elif [ "$rc" != 0 ]; then
			exit "$rc"
		fi
	done
done
