#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the module for a short time each
# (FUZZTIME, default 10s), one after another: go test -fuzz takes one target
# per run.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-10s}"
# LIMIT bounds one target's run: building, the fuzz time and a margin.
LIMIT="${FUZZLIMIT:-120s}"

log=$(mktemp)
trap 'rm -f "$log"' EXIT

grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg="./$(dirname "${file#./}")"
	grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | while read -r target; do
		echo "== fuzz $pkg $target ($FUZZTIME)"
		# The Go fuzzer's coordinator sometimes stops making progress
		# (golang/go#51484, #48820) and never returns. A hang in the code
		# under test is not that: the worker panics on any input that runs
		# over 10s, and go test fails. So a run that outlives its budget
		# by a wide margin is stopped and reported, not waited on.
		#
		# The coordinator can also fail a run whose time is up while a
		# worker is between inputs: "context deadline exceeded", with no
		# failing input (golang/go#48820). A failing input is always written
		# to testdata and named in the output; without one, the run is
		# repeated, up to three runs in all: with thirty targets, a second
		# such failure in a row came often enough to fail the build for
		# nothing. Any failure with an input fails it at once.
		rc=0
		for attempt in 1 2 3; do
			rc=0
			timeout --kill-after=10s "$LIMIT" go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
			if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$rc" != 137 ] &&
				grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log" && [ "$attempt" != 3 ]; then
				echo "== fuzz $pkg $target: the fuzzer's own deadline error, no failing input (golang/go#48820); running it again"
				continue
			fi
			break
		done
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			echo "== fuzz $pkg $target: the Go fuzzer stopped reporting progress and was stopped after $LIMIT (golang/go#51484); no input failed before it"
		elif [ "$rc" != 0 ]; then
			exit "$rc"
		fi
	done
done
