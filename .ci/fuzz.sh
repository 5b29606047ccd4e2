#!/usr/bin/env bash
# .ci/fuzz.sh: run every fuzz target of every module for a bounded time
# (FUZZTIME, default 10s each). Seed corpora already run as plain tests in
# .ci/test.sh; this explores beyond them. A crasher is written under the
# package's testdata/fuzz/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
fuzztime="${FUZZTIME:-10s}"
count=0
for mod in $(go list -m -f '{{.Dir}}'); do
	for pkg in $(cd "$mod" && go list ./...); do
		dir=$(cd "$mod" && go list -f '{{.Dir}}' "$pkg")
		targets=$(cd "$dir" && go test -list '^Fuzz' . 2>/dev/null | grep '^Fuzz' || true)
		for target in $targets; do
			echo "== fuzz $pkg $target ($fuzztime)"
			(cd "$dir" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" .)
			count=$((count + 1))
		done
	done
done
echo "fuzzed $count targets"
