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

# corpus_size counts the files of a fuzz corpus directory, 0 if none.
corpus_size() {
	if [[ -d $1 ]]; then
		find "$1" -type f | wc -l
	else
		echo 0
	fi
}

# fuzz_one fuzzes target in dir. Go's fuzzing engine sometimes fails a
# run with "context deadline exceeded" when -fuzztime ends while a worker
# is busy (it happened in CI, with no crasher written); such a run is
# tried once more. A run that wrote a crasher under testdata/fuzz/, or
# failed any other way, fails at once.
fuzz_one() {
	local dir=$1 target=$2 out status corpus before after
	corpus="$dir/testdata/fuzz/$target"
	for attempt in 1 2; do
		before=$(corpus_size "$corpus")
		status=0
		out=$(cd "$dir" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" . 2>&1) || status=$?
		printf '%s\n' "$out"
		[[ $status -eq 0 ]] && return 0
		after=$(corpus_size "$corpus")
		if [[ $attempt -eq 1 && $after -eq $before ]] && grep -q 'context deadline exceeded' <<<"$out" &&
			! grep -q 'Failing input written to' <<<"$out"; then
			echo "fuzz.sh: $target ended on the engine's deadline error, no crasher: once more"
			continue
		fi
		return "$status"
	done
}
for mod in $(go list -m -f '{{.Dir}}'); do
	for pkg in $(cd "$mod" && go list ./...); do
		dir=$(cd "$mod" && go list -f '{{.Dir}}' "$pkg")
		targets=$(cd "$dir" && go test -list '^Fuzz' . 2>/dev/null | grep '^Fuzz' || true)
		for target in $targets; do
			echo "== fuzz $pkg $target ($fuzztime)"
			fuzz_one "$dir" "$target"
			count=$((count + 1))
		done
	done
done
echo "fuzzed $count targets"
