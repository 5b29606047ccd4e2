#!/usr/bin/env bash
# .ci/test.sh: every test of every module, with the race detector, on a
# fresh machine: it installs what the tests need (the misskey-js type
# checker's npm packages, Chromium for the webui's browser tests), starts
# a throwaway PostgreSQL for pgstore, and stops it at the end. This is the
# README's test command.
#
#	bash .ci/test.sh            # all tests
#	bash .ci/test.sh -run Foo   # extra flags go to every "go test"
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

# The misskey-js check runs tsc over our dummy bodies, and the verify
# package runs the npm signature verifiers: they need Node and the pinned
# packages.
if ! command -v npm >/dev/null 2>&1; then
	echo "test.sh: installing Node.js and npm" >&2
	apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
npm ci --prefix testdata/misskeyjs --no-audit --no-fund --loglevel=error >/dev/null
# misskeyapi's end-to-end test drives the API with misskey-js's APIClient.
npm ci --prefix testdata/misskeyapi --no-audit --no-fund --loglevel=error >/dev/null
# The verify package checks our signatures with the verifiers receivers
# run (standardwebhooks, svix).
npm ci --prefix testdata/standardwebhooks --no-audit --no-fund --loglevel=error >/dev/null
export FEDIHOOK_MISSKEYJS=1

# The webui's browser tests drive headless Chromium (Debian's package).
if ! command -v chromium >/dev/null 2>&1 && [[ -z "${FEDIHOOK_CHROMIUM:-}" ]]; then
	echo "test.sh: installing Chromium" >&2
	apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
export FEDIHOOK_BROWSER=1

# A throwaway PostgreSQL 15 for pgstore, unless a DSN is given.
# shellcheck source=.ci/pg.sh
. .ci/pg.sh
if [[ -z "${FEDIHOOK_PG_DSN:-}" ]]; then
	trap pg_stop EXIT
	pg_start
fi

# Every module of the go.work, each on its own (a module's tests see only
# its own go.mod, as its users will).
status=0
for mod in $(go list -m -f '{{.Dir}}'); do
	echo "== go test -race $(realpath --relative-to=. "$mod")"
	(cd "$mod" && go test -race -count=1 "$@" ./...) || status=1
done
exit $status
