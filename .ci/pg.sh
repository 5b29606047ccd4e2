# shellcheck shell=bash
#
# .ci/pg.sh: a throwaway PostgreSQL server for the pgstore tests.
#
# Source it, then call pg_start; it exports FEDIHOOK_PG_DSN, which the
# pgstore tests read. pg_stop stops the server and removes its files; it is
# safe to call more than once, or when pg_start failed half-way, so it can
# sit in an EXIT trap:
#
#	. .ci/pg.sh
#	trap pg_stop EXIT
#	pg_start
#	(cd pgstore && go test -race ./...)
#
# The server listens on a Unix socket in its own temporary directory only
# (listen_addresses is empty), so it never clashes with another server or
# port and is reachable by nobody else over the network. It runs with
# fsync on: commits are as durable as in production, which the benchmarks
# should measure. initdb, pg_ctl and postgres must be on the PATH (this
# machine has PostgreSQL 15 there), or in /usr/lib/postgresql/*/bin; they
# refuse to run as root, so they run as the "postgres" OS user, created
# here if missing.
#
# Everything is written to be safe under "set -euo pipefail": every
# failure is checked and makes pg_start return 1 after cleaning up.
#
# Knobs (environment, all optional):
#	FEDIHOOK_PG_DB       database to create (default fedihook)
#	FEDIHOOK_PG_PORT     port number in the socket name (default 5432)
#	FEDIHOOK_PG_OPTIONS  extra "-c name=value" server options
#	FEDIHOOK_PG_USER     OS user to run the server as (default postgres)

_pg_log() { printf 'pg.sh: %s\n' "$*" >&2; }

# _pg_as_postgres runs a command as the postgres OS user, from a directory
# that user can read (runuser keeps the working directory).
_pg_as_postgres() {
	(cd / && runuser -u "${FEDIHOOK_PG_USER:-postgres}" -- "$@")
}

# pg_start initialises a cluster under a new temporary directory, starts
# it, creates the database and exports FEDIHOOK_PG_DSN and FEDIHOOK_PG_DIR.
pg_start() {
	if [[ -n "${FEDIHOOK_PG_DIR:-}" && -d "${FEDIHOOK_PG_DIR}/data" ]]; then
		_pg_log "already running in ${FEDIHOOK_PG_DIR}"
		return 0
	fi
	local cmd bin
	if ! command -v initdb >/dev/null 2>&1; then
		# Debian's packages keep the server programs off the PATH.
		for bin in /usr/lib/postgresql/*/bin; do
			if [[ -x "$bin/initdb" ]]; then
				PATH="$bin:$PATH"
			fi
		done
	fi
	for cmd in initdb pg_ctl postgres runuser; do
		if ! command -v "$cmd" >/dev/null 2>&1; then
			_pg_log "$cmd not found on PATH"
			return 1
		fi
	done
	local user="${FEDIHOOK_PG_USER:-postgres}"
	if ! id -u "$user" >/dev/null 2>&1; then
		_pg_log "creating the $user OS user"
		local group=(--user-group)
		if getent group "$user" >/dev/null 2>&1; then
			group=(--gid "$user")
		fi
		useradd --system "${group[@]}" --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$user" || return 1
	fi

	local db="${FEDIHOOK_PG_DB:-fedihook}"
	local port="${FEDIHOOK_PG_PORT:-5432}"
	local dir
	# A short path: the socket's full name must fit in 107 bytes.
	dir="$(mktemp -d /tmp/fedihook-pg.XXXXXX)" || return 1
	export FEDIHOOK_PG_DIR="$dir"
	if ! chmod 755 "$dir" || ! chown "$user:" "$dir"; then
		pg_stop
		return 1
	fi

	# initdb's own fsync of the new cluster is skipped (it is thrown away
	# afterwards anyway); the server below runs with fsync on.
	if ! _pg_as_postgres initdb -D "$dir/data" -A trust -U postgres -E UTF8 \
		--locale=C --no-sync >"$dir/initdb.log" 2>&1; then
		_pg_log "initdb failed:"
		cat "$dir/initdb.log" >&2
		pg_stop
		return 1
	fi

	# The database is created in single-user mode, before the server
	# starts, so no client program (psql, createdb) is needed.
	if ! printf 'CREATE DATABASE "%s";\n' "$db" |
		_pg_as_postgres postgres --single -D "$dir/data" postgres >"$dir/single.log" 2>&1; then
		_pg_log "creating database $db failed:"
		cat "$dir/single.log" >&2
		pg_stop
		return 1
	fi

	# Tuned for the tests and benchmarks: many connections (several pools
	# in several processes), a few hundred MB of buffers, checkpoints
	# spread out; durability settings (fsync, synchronous_commit,
	# full_page_writes) stay at their safe defaults.
	local opts="-k $dir -p $port -c listen_addresses="
	opts+=" -c fsync=on -c synchronous_commit=on -c full_page_writes=on"
	opts+=" -c max_connections=200 -c shared_buffers=256MB -c work_mem=8MB"
	opts+=" -c wal_buffers=16MB -c max_wal_size=2GB -c checkpoint_timeout=15min"
	opts+=" -c log_min_messages=warning -c log_min_error_statement=panic"
	opts+=" ${FEDIHOOK_PG_OPTIONS:-}"
	if ! _pg_as_postgres pg_ctl -D "$dir/data" -l "$dir/server.log" -o "$opts" \
		-w -t 60 start >"$dir/pg_ctl.log" 2>&1; then
		_pg_log "server failed to start:"
		cat "$dir/pg_ctl.log" "$dir/server.log" >&2 || true
		pg_stop
		return 1
	fi

	export FEDIHOOK_PG_DSN="postgres://postgres@/${db}?host=${dir}&port=${port}&sslmode=disable"
	local version
	if command -v psql >/dev/null 2>&1; then
		version="$(psql "$FEDIHOOK_PG_DSN" -XAtqc 'SELECT version()' 2>&1)" || {
			_pg_log "server started but does not answer: $version"
			pg_stop
			return 1
		}
	else
		version="$(postgres --version)"
	fi
	_pg_log "started $version"
	_pg_log "FEDIHOOK_PG_DSN=$FEDIHOOK_PG_DSN"
}

# pg_stop stops the server started by pg_start, if any, and removes its
# directory. It never fails, so it is safe in a trap.
pg_stop() {
	local dir="${FEDIHOOK_PG_DIR:-}"
	if [[ -z "$dir" ]]; then
		return 0
	fi
	if [[ -f "$dir/data/postmaster.pid" ]]; then
		_pg_as_postgres pg_ctl -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
			_pg_log "pg_ctl stop failed; see $dir/server.log"
	fi
	# Keep the directory when the server would not stop, for the log.
	if [[ ! -f "$dir/data/postmaster.pid" ]]; then
		rm -rf -- "$dir"
	fi
	unset FEDIHOOK_PG_DIR FEDIHOOK_PG_DSN
	return 0
}
